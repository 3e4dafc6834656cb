/* global console, process */
// The application every fixture boots, built from the packages the fixture loaded its own way
// (require, require(esm) or import), so each row runs the same routes on the installed tarball.
// Decorators are applied by hand: the fixtures are plain JavaScript, with no compile step.

/** Applies decorators to a class, a method (key) or a parameter (key and index), as tsc does. */
function decorate(target, decorators, key, index) {
  if (index !== undefined) {
    for (const decorator of decorators) decorator(target, key, index);
    return target;
  }
  if (key === undefined) {
    return decorators.reduceRight((cls, decorator) => decorator(cls) ?? cls, target);
  }
  const descriptor = decorators.reduceRight(
    (current, decorator) => decorator(target, key, current) ?? current,
    Object.getOwnPropertyDescriptor(target, key),
  );
  Object.defineProperty(target, key, descriptor);
  return target;
}

/**
 * The fixture's root module: QueueGateModule (with `gateOptions`), the imports a row adds
 * (EventEmitterModule, RedisModule) and one controller:
 * - `POST /models/:model/tasks`: `@QueueLimited` with the default `release: 'event'`, so the
 *   slot stays held after the 201 until the task ends;
 * - `POST /models/:model/tasks/:taskId/done?token=`: the task ended; its slot is released by a
 *   `succeeded` lifecycle event when the row has `@nestjs/event-emitter`, else by
 *   `QueueGateService.release`.
 *
 * With `terminus` (the row's `@nestjs/terminus` and `nestjs-queue-gate/terminus`), also
 * `TerminusModule`, `QueueGateTerminusModule` and `GET /health`: a Terminus check of
 * `QueueGateHealthIndicator.isHealthy('queue-gate')`.
 */
function defineAppModule({ common, gate, eventEmitter, terminus, gateOptions, imports = [] }) {
  const { Controller, Inject, Module, Optional, Param, Post, Query } = common;
  const {
    GateSlot,
    QUEUE_GATE_EVENTS,
    QueueGateModule,
    QueueGateService,
    QueueLimited,
    TaskLifecycleEvent,
  } = gate;

  class TasksController {
    constructor(gateService, emitter) {
      this.gateService = gateService;
      this.emitter = emitter;
    }

    create(slot) {
      return { taskId: slot.taskId, token: slot.token, used: slot.used, limit: slot.limit };
    }

    async done(model, taskId, tokenText) {
      const token = Number(tokenText);
      if (this.emitter) {
        const event = new TaskLifecycleEvent(model, taskId, { token });
        const results = await this.emitter.emitAsync(QUEUE_GATE_EVENTS.succeeded, event);
        return { via: 'event', released: results.includes(true) };
      }
      const released = await this.gateService.release(model, taskId, { token });
      return { via: 'service', released };
    }
  }
  const proto = TasksController.prototype;
  decorate(proto, [GateSlot()], 'create', 0);
  decorate(
    proto,
    [
      Post(),
      QueueLimited((context) => context.switchToHttp().getRequest().params.model, {
        expectedSeconds: 60,
      }),
    ],
    'create',
  );
  decorate(proto, [Param('model')], 'done', 0);
  decorate(proto, [Param('taskId')], 'done', 1);
  decorate(proto, [Query('token')], 'done', 2);
  decorate(proto, [Post(':taskId/done')], 'done');
  decorate(TasksController, [Inject(QueueGateService)], undefined, 0);
  if (eventEmitter) {
    decorate(TasksController, [Inject(eventEmitter.EventEmitter2), Optional()], undefined, 1);
  }
  decorate(TasksController, [Controller('models/:model/tasks')]);

  class AppModule {}
  const moduleImports = [...imports, QueueGateModule.forRoot({ isGlobal: true, ...gateOptions })];
  if (eventEmitter) moduleImports.unshift(eventEmitter.EventEmitterModule.forRoot());
  const controllers = [TasksController];
  if (terminus) {
    moduleImports.push(terminus.module.TerminusModule, terminus.gate.QueueGateTerminusModule);
    controllers.push(defineHealthController(common, terminus));
  }
  decorate(AppModule, [Module({ imports: moduleImports, controllers })]);
  return AppModule;
}

/** `GET /health`: Terminus's check of the gate's indicator, bounded at 1 s. */
function defineHealthController(common, terminus) {
  const { Controller, Get, Inject } = common;
  const { HealthCheck, HealthCheckService } = terminus.module;
  const { QueueGateHealthIndicator } = terminus.gate;

  class HealthController {
    constructor(health, indicator) {
      this.health = health;
      this.indicator = indicator;
    }

    check() {
      return this.health.check([() => this.indicator.isHealthy('queue-gate', { timeoutMs: 1000 })]);
    }
  }
  decorate(HealthController.prototype, [Get('health'), HealthCheck()], 'check');
  decorate(HealthController, [Inject(HealthCheckService)], undefined, 0);
  decorate(HealthController, [Inject(QueueGateHealthIndicator)], undefined, 1);
  decorate(HealthController, [Controller()]);
  return HealthController;
}

/**
 * Listens on a free port of 127.0.0.1, tells the runner the port on stdout, and on SIGTERM
 * closes the application, then `afterClose` (a client the fixture owns), so the process ends.
 */
async function serve(app, afterClose = async () => {}) {
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address();
  process.stdout.write(`MATRIX_LISTENING ${port}\n`);
  process.once('SIGTERM', () => {
    app
      .close()
      .then(afterClose)
      .catch((error) => {
        console.error(error);
        process.exitCode = 1;
      });
  });
}

/**
 * The gate options of every row: limit 2 on model "m", under the row's own key prefix; with no
 * `redis` the module takes RedisModule's default namespace.
 */
function gateOptionsFor(redis) {
  const options = { keyPrefix: process.env.MATRIX_KEY_PREFIX, limits: { m: 2 } };
  return redis === undefined ? options : { ...options, redis };
}

module.exports = { defineAppModule, gateOptionsFor, serve };
