import {
  type CanActivate,
  type ExecutionContext,
  Inject,
  Injectable,
  Logger,
} from '@nestjs/common';
import { SSE_METADATA } from '@nestjs/common/constants';
import { Reflector } from '@nestjs/core';
import { randomUUID } from 'node:crypto';
import { ClientClosedRequestException } from './client-closed-request.exception';
import { AcquireAbortedError } from '../core/errors/acquire-aborted.error';
import { GateUnavailableError } from '../core/errors/gate-unavailable.error';
import type { AcquireResult } from '../core/gate-results';
import { OutageNotice } from '../core/outage-notice';
import { assertTaskId } from '../core/validation';
import type { GateSlotInfo } from './gate-slot';
import { QUEUE_GATE_OPTIONS } from './queue-gate.constants';
import { QueueGateFullException } from './queue-gate-full.exception';
import { QueueGateUnavailableException } from './queue-gate-unavailable.exception';
import type {
  QueueGateModuleOptions,
  QueueLimitedOptions,
  SlotRelease,
} from './queue-gate.options';
import { QueueGateService } from './queue-gate.service';
import {
  type ModelSource,
  type QueueLimitedMetadata,
  QUEUE_LIMITED_METADATA,
  SKIP_QUEUE_GATE_METADATA,
} from './queue-limited.metadata';
import { rateLimitHeaders } from './rate-limit-headers';
import { RequestAlreadyAnsweredException } from './request-already-answered.exception';
import { REQUEST_SLOT, RequestSlot } from './request-slot';
import { holderIdOf, resolveModel } from './request-holder';
import { ResponseSlotRegistry } from './response-slot-registry';

/** The request and response a guard works on, whatever the transport. */
export interface GateHttpPair {
  /** The request object; the guard attaches the request's slot to it. */
  request: Record<PropertyKey, any>;
  /** The response object (Express, Fastify, or the transport's own). */
  response: any;
}

/** Watches a request's client while it waits for a slot. */
export interface ClientWatch {
  /** Fires when the client leaves before its response is sent. */
  signal: AbortSignal;
  /** Stops watching. */
  dispose: () => void;
}

/**
 * Takes the slot of a `@QueueLimited` route before the handler runs, or answers 429 (full),
 * 503 (gate unreachable, fail-closed) or 400 (no valid model). It runs where `@QueueLimited`
 * puts it: after global guards and the guards declared before it.
 *
 * Transport access lives in small protected methods (`getHttpPair`, `setHeader`, `endResponse`,
 * `onResponseEnd`, `abortWhenClientLeaves`), so a GraphQL or WebSocket variant overrides those
 * and nothing else.
 */
@Injectable()
export class QueueGateGuard implements CanActivate {
  /** Logs the start and end of a `failOpen` outage. */
  protected readonly logger = new Logger('QueueGate');
  /** The failOpen notice: once when the gate becomes unreachable, once when it is back. */
  private readonly outage = new OutageNotice(this.logger);
  /** Each route's gate (null: none), by controller and handler. */
  private readonly routes = new WeakMap<RouteTarget, WeakMap<RouteTarget, LimitedRoute | null>>();

  constructor(
    /** Reads the `@QueueLimited` and `@SkipQueueGate` metadata. */
    protected readonly reflector: Reflector,
    /** The gate the slots are taken from. */
    protected readonly gate: QueueGateService,
    /** The module options (their `queueLimited` defaults apply to every route). */
    @Inject(QUEUE_GATE_OPTIONS) protected readonly moduleOptions: QueueGateModuleOptions,
    /** Open `'response'` slots, which shutdown ends before they go back. */
    protected readonly responseSlots: ResponseSlotRegistry,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const route = this.limitedRoute(context);
    if (!route) return true;
    const { request, response } = this.getHttpPair(context);
    // @QueueLimited on both class and method runs this guard twice; one slot per request.
    if (request[REQUEST_SLOT] !== undefined) return true;

    const { options, mode } = route;
    const name = await resolveModel(route.model, context);
    const taskId = holderIdOf(mode, options.taskId ? await options.taskId(context) : randomUUID());
    assertTaskId(taskId);

    const tenant = options.tenant ? await options.tenant(context) : undefined;
    const cost = typeof options.cost === 'function' ? await options.cost(context) : options.cost;
    const waitMs = (options.waitSeconds ?? 0) * 1000;
    // A client that leaves while its request waits takes its place in the queue with it.
    const clientGone = waitMs > 0 ? this.abortWhenClientLeaves(response) : undefined;
    let result: AcquireResult;
    try {
      result = await this.gate.acquire(name, {
        taskId,
        limit: options.limit,
        expectedSeconds: options.expectedSeconds,
        tenant,
        cost,
        waitMs,
        signal: clientGone?.signal,
      });
    } catch (error) {
      if (error instanceof AcquireAbortedError) throw new ClientClosedRequestException(name);
      if (!(error instanceof GateUnavailableError)) throw error;
      return this.whenUnavailable({ request, response, model: name, taskId, options, error });
    } finally {
      clientGone?.dispose();
    }
    this.outage.recovered('Queue gate reachable again; failOpen admissions are tracked again.');
    if (waitMs > 0)
      this.setHeader(response, 'Queue-Waited-Ms', String(Math.round(result.waitedMs)));
    if (!result.acquired) {
      if (this.sendsHeaders(options, result)) this.setRateLimitHeaders(response, result);
      if (result.position !== null)
        this.setHeader(response, 'Queue-Position', String(result.position));
      this.setHeader(response, 'Retry-After', String(retryAfter(options)));
      const byTenant = result.refusedBy === 'tenant';
      throw new QueueGateFullException(name, (byTenant ? result.tenantLimit : result.limit)!, {
        limitHit: result.refusedBy ?? 'model',
        tenant: result.tenant ?? undefined,
        position: result.position,
      });
    }
    await this.admitted({ request, response, mode, options, result });
    return true;
  }

  /** The request and response of an HTTP context (Express or Fastify). */
  protected getHttpPair(context: ExecutionContext): GateHttpPair {
    const http = context.switchToHttp();
    return { request: http.getRequest(), response: http.getResponse() };
  }

  /**
   * Sets a response header; `header()` exists on Express and Fastify responses alike. Skipped
   * once the headers are sent (something else answered): Express would throw.
   */
  protected setHeader(response: any, name: string, value: string): void {
    if ((response.raw ?? response).headersSent === true) return;
    if (typeof response.header === 'function') response.header(name, value);
    else response.setHeader(name, value);
  }

  /**
   * An abort signal that fires when the client leaves before its response is sent, and the
   * function that stops watching.
   */
  protected abortWhenClientLeaves(response: any): ClientWatch {
    const raw = response.raw ?? response;
    const controller = new AbortController();
    const onClose = () => {
      if (raw.writableFinished !== true) controller.abort(new Error('the client left'));
    };
    if (raw.destroyed === true) onClose();
    else raw.once('close', onClose);
    return { signal: controller.signal, dispose: () => raw.removeListener('close', onClose) };
  }

  /** Ends a response that cannot be waited for (shutdown): destroys its connection's stream. */
  protected endResponse(response: any): void {
    (response.raw ?? response).destroy();
  }

  /**
   * Calls `listener` once when the response ends: `finished` when it was fully delivered
   * (false when the client went away first), with its status code.
   */
  protected onResponseEnd(
    response: any,
    listener: (finished: boolean, statusCode: number) => void,
  ): void {
    const raw = response.raw ?? response;
    const socket = raw.socket;
    // Node reports a response finished even when the client reset the connection while its
    // body was still being sent; the socket's error tells that it was not delivered.
    const finished = () => raw.writableFinished === true && !socket?.errored;
    // The client may have left, or something else answered, while the slot was being taken:
    // 'close' may already have been emitted and will not come again.
    if (raw.destroyed === true || raw.writableEnded === true) {
      listener(finished(), raw.statusCode);
      return;
    }
    raw.once('close', () => listener(finished(), raw.statusCode));
  }

  /** Fail closed (503), or with `failOpen` admit the request untracked. */
  private whenUnavailable(unavailable: {
    request: GateHttpPair['request'];
    response: any;
    model: string;
    taskId: string;
    options: QueueLimitedOptions;
    error: GateUnavailableError;
  }): boolean {
    const { request, response, model, taskId, options, error } = unavailable;
    if (!options.failOpen) {
      this.setHeader(response, 'Retry-After', String(retryAfter(options)));
      throw new QueueGateUnavailableException(model, error);
    }
    this.outage.failed(
      `${error.message} Admitting requests untracked (failOpen) until it is back.`,
    );
    const untracked: GateSlotInfo = {
      model,
      taskId,
      token: null,
      expiresAt: null,
      used: 0,
      limit: null,
      tracked: false,
    };
    request[REQUEST_SLOT] = new RequestSlot(untracked, 'response', NOTHING_TO_RELEASE);
    return true;
  }

  private setRateLimitHeaders(response: any, result: AcquireResult): void {
    const { model, limit, used, tenantLimit, tenantUsed } = result;
    const tenant =
      tenantLimit !== null && tenantUsed !== null
        ? { limit: tenantLimit, used: tenantUsed }
        : undefined;
    for (const [name, value] of Object.entries(rateLimitHeaders(model, limit, used, tenant))) {
      this.setHeader(response, name, value);
    }
  }

  /**
   * The `@QueueLimited` route this call is for, with its options (module defaults, then the
   * class's, then the method's) and release mode; undefined when the gate does not apply.
   * Metadata does not change once the app runs: each handler's answer is worked out once.
   */
  private limitedRoute(context: ExecutionContext): LimitedRoute | undefined {
    const controller = context.getClass();
    const handler = context.getHandler();
    let handlers = this.routes.get(controller);
    if (!handlers) this.routes.set(controller, (handlers = new WeakMap()));
    let route = handlers.get(handler);
    if (route === undefined) handlers.set(handler, (route = this.readRoute(handler, controller)));
    return route ?? undefined;
  }

  private readRoute(handler: RouteTarget, controller: RouteTarget): LimitedRoute | null {
    const targets = [handler, controller];
    if (this.reflector.getAllAndOverride<boolean>(SKIP_QUEUE_GATE_METADATA, targets)) return null;
    const [onHandler, onClass] = targets.map((target) =>
      this.reflector.get<QueueLimitedMetadata | undefined>(QUEUE_LIMITED_METADATA, target),
    );
    const model = onHandler?.model ?? onClass?.model;
    if (model === undefined) return null;
    const options: QueueLimitedOptions = {
      ...this.moduleOptions.queueLimited,
      ...onClass?.options,
      ...onHandler?.options,
    };
    const own = onHandler?.options.release ?? onClass?.options.release;
    return { model, options, mode: own ?? this.defaultReleaseMode(handler, options) };
  }

  /**
   * The release mode of a route without its own `release` option. An `@Sse()` route streams:
   * its slot is its stream, so it defaults to `'response'` (under `'event'` nothing would ever
   * give back the slot of a stream whose client left). A module-wide default does not apply to
   * it for the same reason.
   */
  private defaultReleaseMode(handler: RouteTarget, options: QueueLimitedOptions): SlotRelease {
    if (this.reflector.get<boolean | undefined>(SSE_METADATA, handler)) return 'response';
    return options.release ?? 'event';
  }

  /**
   * An admitted request: its slot is attached before anything else can throw, so that every
   * way out of this request from here on gives it back; then the headers, and the checks that
   * the request is still there to be handled.
   */
  private async admitted(admission: {
    request: GateHttpPair['request'];
    response: any;
    mode: SlotRelease;
    options: QueueLimitedOptions;
    result: AcquireResult;
  }): Promise<void> {
    const { request, response, mode, options, result } = admission;
    const { model, taskId, token, expiresAt, used, limit } = result;
    const slot = this.attach(request, response, mode, options, {
      model,
      taskId,
      token,
      expiresAt,
      used,
      limit,
      tracked: true,
    });
    const ended = slot.responseState;
    if (ended.ended) {
      // The slot went back when the end was seen; no task may be made for this request.
      throw ended.finished
        ? new RequestAlreadyAnsweredException(model)
        : new ClientClosedRequestException(model);
    }
    if (this.sendsHeaders(options, result)) {
      try {
        this.setRateLimitHeaders(response, result);
      } catch (error) {
        await slot.handlerFailed();
        throw error;
      }
    }
    // A 'response' route may have no interceptor to skip the handler for a client that
    // already left; the slot went back when its close was seen.
    if (slot.mode === 'response' && !slot.handlerStarting()) {
      throw new ClientClosedRequestException(model);
    }
  }

  private sendsHeaders(options: QueueLimitedOptions, result: AcquireResult): boolean {
    return options.headers !== false && (result.limit !== null || result.tenantLimit !== null);
  }

  private attach(
    request: GateHttpPair['request'],
    response: any,
    mode: SlotRelease,
    options: QueueLimitedOptions,
    slot: GateSlotInfo,
  ): RequestSlot {
    // A streaming response may outlive its lease; keep it alive until the response ends.
    const keeper =
      mode === 'response'
        ? this.gate.keepAlive(slot.model, slot.taskId, {
            expectedSeconds: options.expectedSeconds,
            token: slot.token ?? undefined,
          })
        : undefined;
    const requestSlot: RequestSlot = new RequestSlot(slot, mode, this.gate, {
      keeper,
      onSettled: () => this.responseSlots.untrack(requestSlot),
      endResponse: () => this.endResponse(response),
    });
    if (mode === 'response') this.responseSlots.track(requestSlot);
    request[REQUEST_SLOT] = requestSlot;
    this.onResponseEnd(response, (finished, statusCode) =>
      requestSlot.responseEnded(finished, statusCode),
    );
    return requestSlot;
  }
}

/** A controller class or a route handler: what Nest's metadata hangs on. */
type RouteTarget = ReturnType<ExecutionContext['getHandler']>;

/** A `@QueueLimited` route: its model, its merged options and how its slot goes back. */
interface LimitedRoute {
  model: ModelSource;
  options: QueueLimitedOptions;
  mode: SlotRelease;
}

const NOTHING_TO_RELEASE = { release: () => Promise.resolve(false) };

function retryAfter(options: QueueLimitedOptions): number {
  return Math.ceil(options.retryAfterSeconds ?? 1);
}
