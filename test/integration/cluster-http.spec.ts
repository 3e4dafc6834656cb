import { ClusterModule } from '@liaoliaots/nestjs-redis';
import { Controller, type INestApplication, type ModuleMetadata, Post } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import type { Cluster } from 'ioredis';
import type { AddressInfo } from 'node:net';
import {
  GateSlot,
  type GateSlotInfo,
  QueueGateModule,
  QueueGateService,
  QueueLimited,
} from '../../src';
import { CapturedLogger } from '../support/captured-logger';
import { waitFor } from '../support/eventually';
import { type HttpReply, post, remaining } from '../support/http-app';
import {
  connectCluster,
  dropClusterKeys,
  type RedisCluster,
  startRedisCluster,
} from '../support/redis-cluster';
import { uniquePrefix } from '../support/test-redis';

const LIMIT = 5;
/** Slot handed to a waiting request, announced by SPUBLISH: far sooner than a heartbeat. */
const ANNOUNCED_WITHIN_MS = 3_000;

@Controller()
class TasksController {
  @Post('tasks')
  @QueueLimited('burst-model', { limit: LIMIT })
  create(@GateSlot() slot: GateSlotInfo) {
    return slot;
  }

  @Post('wait')
  @QueueLimited('wait-model', { limit: 1, waitSeconds: 10 })
  wait(@GateSlot() slot: GateSlotInfo) {
    return slot;
  }
}

/** Where the gate gets its Cluster client from. */
type Source = 'redis.client' | 'ClusterModule namespace';

/**
 * @QueueLimited over HTTP (Express) with the gate on a Redis Cluster: given as an ioredis
 * `Cluster` client, and taken from `@liaoliaots/nestjs-redis`'s ClusterModule by namespace.
 */
describe('@QueueLimited admission over HTTP on a Redis Cluster', () => {
  let cluster: RedisCluster;
  let client: Cluster;

  beforeAll(async () => {
    cluster = await startRedisCluster({ primaries: 3, replicasPerPrimary: 1 });
    process.stdout.write(`cluster: ${cluster.nodes.length} nodes in ${cluster.startedInMs} ms\n`);
    client = await connectCluster(cluster);
  }, 30_000);

  afterAll(async () => {
    await client?.quit();
    await cluster?.stop();
  });

  describe.each<Source>(['redis.client', 'ClusterModule namespace'])('through %s', (source) => {
    let app: INestApplication;
    let url: string;
    let gate: QueueGateService;
    let keyPrefix: string;
    let logger: CapturedLogger;

    beforeAll(async () => {
      keyPrefix = uniquePrefix('cluster-http');
      logger = new CapturedLogger();
      const options = { keyPrefix, waiting: { waiterLeaseMs: 30_000 } };
      const imports: ModuleMetadata['imports'] =
        source === 'redis.client'
          ? [QueueGateModule.forRoot({ ...options, redis: { client } })]
          : [
              ClusterModule.forRoot({
                readyLog: false,
                config: { namespace: 'gates', nodes: cluster.startupNodes },
              }),
              QueueGateModule.forRoot({ ...options, redis: { namespace: 'gates' } }),
            ];
      const moduleRef = await Test.createTestingModule({
        imports,
        controllers: [TasksController],
      })
        .setLogger(logger)
        .compile();
      app = moduleRef.createNestApplication(new ExpressAdapter(), { logger });
      await app.listen(0, '127.0.0.1');
      url = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
      gate = app.get(QueueGateService);
    }, 20_000);

    afterAll(async () => {
      await app?.close();
      await dropClusterKeys(client, keyPrefix);
    });

    it('boots on the Cluster client it was given', () => {
      expect(logger.logs).toContain(
        source === 'redis.client'
          ? 'Queue gate store: Redis (your client).'
          : 'Queue gate store: Redis (@liaoliaots/nestjs-redis namespace "gates").',
      );
    });

    it(`admits exactly ${LIMIT} of 50 concurrent requests, refuses the rest with 429, and exactly one more after a release`, async () => {
      const groups = byStatus(
        await Promise.all(Array.from({ length: 50 }, () => post(`${url}/tasks`))),
      );
      expect(Object.keys(groups).sort()).toEqual(['201', '429']);
      expect(groups[201]).toHaveLength(LIMIT);
      expect(groups[429]).toHaveLength(50 - LIMIT);
      for (const refused of groups[429]) {
        expect(refused.json).toMatchObject({ statusCode: 429, model: 'burst-model', limit: LIMIT });
      }
      const slots = groups[201].map((reply) => reply.json as GateSlotInfo);
      expect(slots.map((slot) => slot.used).sort()).toEqual([1, 2, 3, 4, 5]);
      expect(groups[201].map((reply) => remaining(reply.headers)).sort()).toEqual([0, 1, 2, 3, 4]);
      const taskIds = slots.map((slot) => slot.taskId).sort();
      // The holders are in the Cluster, read through another client.
      expect((await client.zrange(`${keyPrefix}{burst-model}`, 0, -1)).sort()).toEqual(taskIds);

      expect(await gate.release('burst-model', taskIds[0])).toBe(true);
      const second = byStatus(
        await Promise.all(Array.from({ length: 20 }, () => post(`${url}/tasks`))),
      );
      expect(second[201]).toHaveLength(1);
      expect(second[429]).toHaveLength(19);
      expect((await gate.usage('burst-model')).used).toBe(LIMIT);
    });

    it(`admits a waiting request within ${ANNOUNCED_WITHIN_MS} ms of the release that frees its slot`, async () => {
      const first = await post(`${url}/wait`);
      expect(first.status).toBe(201);
      const waiting = post(`${url}/wait`);
      await waitFor(async () => (await gate.usage('wait-model')).waiting === 1);

      const releasedAt = Date.now();
      expect(await gate.release('wait-model', first.json.taskId)).toBe(true);
      const second = await waiting;
      expect(Date.now() - releasedAt).toBeLessThan(ANNOUNCED_WITHIN_MS);
      expect(second.status).toBe(201);
      expect(Number(second.headers.get('queue-waited-ms'))).toBeGreaterThan(0);
      expect(second.json.token).toBeGreaterThan(first.json.token);
      expect(logger.warnings).toEqual([]);
    });
  });
});

function byStatus(replies: HttpReply[]): Record<number, HttpReply[]> {
  const groups: Record<number, HttpReply[]> = {};
  for (const reply of replies) (groups[reply.status] ??= []).push(reply);
  return groups;
}
