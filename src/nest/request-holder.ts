import { BadRequestException, type ExecutionContext } from '@nestjs/common';
import { errorMessage } from '../core/errors/error-message';
import { InvalidModelNameError } from '../core/errors/invalid-model-name.error';
import { InvalidTaskIdError } from '../core/errors/invalid-task-id.error';
import { REQUEST_BOUND_HOLDER_PREFIX } from '../core/request-bound';
import { assertModelName } from '../core/validation';
import type { SlotRelease } from './queue-gate.options';
import type { ModelSource } from './queue-limited.metadata';

/**
 * The model a request names, or 400: a resolver that throws or names no valid model is the
 * client's request at fault, and the gate is not touched.
 */
export async function resolveModel(model: ModelSource, context: ExecutionContext): Promise<string> {
  let name: unknown;
  try {
    name = typeof model === 'function' ? await model(context) : model;
    assertModelName(name);
  } catch (error) {
    const detail = errorMessage(error);
    throw new BadRequestException(
      error instanceof InvalidModelNameError
        ? `The request does not name a valid model: ${detail}`
        : `The model of this request could not be resolved: ${detail}`,
    );
  }
  return name;
}

/**
 * The holder id of a request's slot. A `'response'` slot is bound to its response, which no
 * database lists: its id carries {@link REQUEST_BOUND_HOLDER_PREFIX} so that reconcile never
 * removes it while the response lasts. A task's id must not carry it, or reconcile would never
 * remove the task's slot.
 */
export function holderIdOf(mode: SlotRelease, id: string): string {
  const prefixed = typeof id === 'string' && id.startsWith(REQUEST_BOUND_HOLDER_PREFIX);
  if (mode === 'response') return prefixed ? id : `${REQUEST_BOUND_HOLDER_PREFIX}${id}`;
  if (prefixed) {
    throw new InvalidTaskIdError(
      id,
      `it must not start with "${REQUEST_BOUND_HOLDER_PREFIX}", the prefix of response-bound slots`,
    );
  }
  return id;
}
