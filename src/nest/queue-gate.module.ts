import { type DynamicModule, Module, type Provider } from '@nestjs/common';
import { InvalidQueueGateOptionsError } from './errors/invalid-options.error';
import { GateStore } from '../core/gate-store';
import { createGateStore, type GateStoreHandle, NESTJS_REDIS } from './create-gate-store';
import { eventEmitterProvider } from './event-emitter.provider';
import { optionalRequire } from './optional-require';
import { QUEUE_GATE_OPTIONS, QUEUE_GATE_STORE_HANDLE } from './queue-gate.constants';
import type {
  QueueGateModuleAsyncOptions,
  QueueGateModuleOptions,
  QueueGateOptionsFactory,
} from './queue-gate.options';
import { QueueGateConnection } from './queue-gate.connection';
import { QueueGateService } from './queue-gate.service';
import { ResponseSlotRegistry } from './response-slot-registry';
import { ScheduledReconciler } from './scheduled-reconciler';
import { TaskLifecycleListener } from './task-lifecycle.listener';
import { validateModuleOptions } from './validate-module-options';

/**
 * The queue gate for a Nest application. `forRoot(options)` or `forRootAsync({ imports,
 * inject, useFactory | useClass | useExisting })`; both accept `isGlobal`. Provides and exports
 * {@link QueueGateService} and the {@link GateStore} token. Options are checked at boot. With
 * `@nestjs/event-emitter` present it also listens to the task lifecycle events, and with the
 * `reconcile` option it rebuilds gates from the application's records on a schedule.
 */
@Module({})
export class QueueGateModule {
  /**
   * Registers the gate with fixed options; `isGlobal` (default false) makes the module global. The
   * options are checked at boot, which fails with `InvalidQueueGateOptionsError` (a malformed or
   * unknown option), `MissingGateStoreError` (no store) or `MissingDependencyError` (an optional
   * peer the options need is missing).
   */
  static forRoot(options: QueueGateModuleOptions & { isGlobal?: boolean } = {}): DynamicModule {
    const { isGlobal, ...gateOptions } = options;
    return QueueGateModule.assemble(
      isGlobal,
      [],
      [{ provide: QUEUE_GATE_OPTIONS, useValue: gateOptions }],
    );
  }

  /**
   * Registers the gate with options made by `useFactory`, `useClass` or `useExisting`; `isGlobal`
   * (default false) makes the module global. Throws `InvalidQueueGateOptionsError` at once unless
   * exactly one of the three is given; the options made are checked at boot like `forRoot`'s.
   */
  static forRootAsync(options: QueueGateModuleAsyncOptions): DynamicModule {
    const ways = (['useFactory', 'useClass', 'useExisting'] as const).filter(
      (way) => options[way] !== undefined,
    );
    if (ways.length !== 1) {
      throw new InvalidQueueGateOptionsError(
        'forRootAsync',
        ways,
        'give exactly one of useFactory, useClass or useExisting',
      );
    }
    return QueueGateModule.assemble(
      options.isGlobal,
      options.imports ?? [],
      asyncOptionProviders(options),
    );
  }

  private static assemble(
    isGlobal: boolean | undefined,
    imports: NonNullable<QueueGateModuleAsyncOptions['imports']>,
    optionProviders: Provider[],
  ): DynamicModule {
    return {
      module: QueueGateModule,
      global: isGlobal ?? false,
      imports,
      providers: [
        ...optionProviders,
        storeHandleProvider(),
        {
          provide: GateStore,
          useFactory: (handle: GateStoreHandle) => handle.store,
          inject: [QUEUE_GATE_STORE_HANDLE],
        },
        eventEmitterProvider(),
        QueueGateConnection,
        QueueGateService,
        ResponseSlotRegistry,
        TaskLifecycleListener,
        ScheduledReconciler,
      ],
      exports: [QUEUE_GATE_OPTIONS, GateStore, QueueGateService, ResponseSlotRegistry],
    };
  }
}

function asyncOptionProviders(options: QueueGateModuleAsyncOptions): Provider[] {
  if (options.useFactory) {
    return [
      { provide: QUEUE_GATE_OPTIONS, useFactory: options.useFactory, inject: options.inject ?? [] },
    ];
  }
  const factory = (options.useClass ?? options.useExisting)!;
  const fromFactory: Provider = {
    provide: QUEUE_GATE_OPTIONS,
    useFactory: (made: QueueGateOptionsFactory) => made.createQueueGateOptions(),
    inject: [factory],
  };
  return options.useClass ? [{ provide: factory, useClass: factory }, fromFactory] : [fromFactory];
}

/**
 * Builds the store from the validated options. RedisModule's and ClusterModule's services are
 * injected when `@liaoliaots/nestjs-redis` is installed and imported, for `redis.namespace` and
 * for the default-namespace fallback.
 */
function storeHandleProvider(): Provider {
  const nestjsRedis = optionalRequire<Record<string, unknown>>(NESTJS_REDIS);
  const services = [nestjsRedis?.RedisService, nestjsRedis?.ClusterService].filter(Boolean);
  return {
    provide: QUEUE_GATE_STORE_HANDLE,
    useFactory: (options: QueueGateModuleOptions, ...namespaced: any[]) => {
      validateModuleOptions(options);
      return createGateStore(options, namespaced);
    },
    inject: [
      QUEUE_GATE_OPTIONS,
      ...services.map((token) => ({ token: token as any, optional: true })),
    ],
  };
}
