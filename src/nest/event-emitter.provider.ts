import type { Provider } from '@nestjs/common';
import type { LifecycleEmitter } from './lifecycle-emitter';
import { MissingDependencyError } from './errors/missing-dependency.error';
import { optionalRequire } from './optional-require';
import { QUEUE_GATE_EVENT_EMITTER, QUEUE_GATE_OPTIONS } from './queue-gate.constants';
import type { QueueGateModuleOptions } from './queue-gate.options';

export const EVENT_EMITTER_PACKAGE = '@nestjs/event-emitter';

/**
 * The application's EventEmitter2 when `@nestjs/event-emitter` is installed and its module
 * imported, else null. With `events: false` always null. Asking for events by name without
 * the package is a boot error that names what to install.
 */
export function eventEmitterProvider(): Provider {
  const eventEmitterModule = optionalRequire<{ EventEmitter2: unknown }>(EVENT_EMITTER_PACKAGE);
  const token = eventEmitterModule?.EventEmitter2;
  return {
    provide: QUEUE_GATE_EVENT_EMITTER,
    useFactory: (
      options: QueueGateModuleOptions,
      emitter?: LifecycleEmitter,
    ): LifecycleEmitter | null => {
      if (options.events === false) return null;
      if (!emitter && options.events !== undefined) {
        throw new MissingDependencyError(
          EVENT_EMITTER_PACKAGE,
          'The task lifecycle listener (the events option)',
          token
            ? 'import EventEmitterModule.forRoot() in your application'
            : `install it (npm install ${EVENT_EMITTER_PACKAGE}) and import EventEmitterModule.forRoot()`,
        );
      }
      return emitter ?? null;
    },
    inject: [QUEUE_GATE_OPTIONS, ...(token ? [{ token: token as any, optional: true }] : [])],
  };
}
