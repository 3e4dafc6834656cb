import {
  Body,
  Controller,
  Get,
  HttpCode,
  NotFoundException,
  Param,
  Post,
  type ExecutionContext,
} from '@nestjs/common';
import { GateSlot, type GateSlotInfo, QueueLimited } from '../src';
import { DEMO_LIMITS } from './demo.settings';
import { TaskDispatcher } from './task-dispatcher';
import { TaskRepository } from './task.repository';

/** The model named in the route, if the gateway serves it. */
function modelOfRoute(context: ExecutionContext): string {
  const model: string = context.switchToHttp().getRequest().params.model;
  if (!Object.prototype.hasOwnProperty.call(DEMO_LIMITS, model)) {
    throw new Error(
      `unknown model "${model}"; this gateway serves ${Object.keys(DEMO_LIMITS).join(', ')}`,
    );
  }
  return model;
}

@Controller('v1')
export class TasksController {
  constructor(
    private readonly tasks: TaskRepository,
    private readonly dispatcher: TaskDispatcher,
  ) {}

  /**
   * Creates an asynchronous task. The gate admits it only while the model has fewer than its
   * limit of queued or running tasks; otherwise the client gets 429 with Retry-After. The slot
   * stays held after the response and is released when the worker ends the task.
   */
  @Post('models/:model/tasks')
  @HttpCode(202)
  @QueueLimited(modelOfRoute, { expectedSeconds: 60 })
  async create(@GateSlot() slot: GateSlotInfo, @Body() body: { prompt?: unknown } = {}) {
    const task = this.tasks.insert({
      id: slot.taskId,
      model: slot.model,
      prompt: typeof body.prompt === 'string' ? body.prompt : '',
      slotExpiresAt: slot.expiresAt,
      slotToken: slot.token,
    });
    await this.dispatcher.dispatch(task);
    return { task, slot };
  }

  @Get('tasks/:id')
  find(@Param('id') id: string) {
    const task = this.tasks.find(id);
    if (!task) throw new NotFoundException(`No task "${id}".`);
    return task;
  }
}
