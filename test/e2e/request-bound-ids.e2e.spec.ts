import { Controller, Get, Post } from '@nestjs/common';
import { GateSlot, type GateSlotInfo, QueueLimited, REQUEST_BOUND_HOLDER_PREFIX } from '../../src';
import { type HttpApp, PLATFORMS, get, post, startHttpApp } from '../support/http-app';

@Controller()
class IdsController {
  /** A streaming-style route whose slot is the response: its holder id gets the prefix. */
  @Get('stream')
  @QueueLimited('ids-model', { release: 'response', taskId: () => 'own-id' })
  stream(@GateSlot() slot: GateSlotInfo) {
    return slot;
  }

  /** A task route whose application-made id wrongly carries the reserved prefix. */
  @Post('task')
  @QueueLimited('ids-model', { taskId: () => `${REQUEST_BOUND_HOLDER_PREFIX}task-1` })
  create(@GateSlot() slot: GateSlotInfo) {
    return slot;
  }
}

describe.each(PLATFORMS)('holder ids of request-bound slots (%s)', (platform) => {
  let app: HttpApp;

  beforeAll(async () => {
    app = await startHttpApp(platform, {
      controllers: [IdsController],
      gate: { limits: { 'ids-model': 5 } },
    });
  });

  afterAll(async () => {
    await app.close();
  });

  it('prefixes the id of a response-bound slot, so that reconcile never removes it', async () => {
    const reply = await get(`${app.url}/stream`);
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({ taskId: `${REQUEST_BOUND_HOLDER_PREFIX}own-id` });
  });

  it('refuses a task id that carries the prefix, and takes no slot', async () => {
    const reply = await post(`${app.url}/task`);
    expect(reply.status).toBe(500);
    expect(app.logger.lines.map((line) => line.message).join('\n')).toContain(
      'must not start with "request:"',
    );
    expect((await app.gate.usage('ids-model')).used).toBe(0);
  });
});
