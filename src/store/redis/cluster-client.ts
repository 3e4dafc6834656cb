import type { Cluster, Redis } from 'ioredis';

/** True for an ioredis `Cluster` client (ioredis marks it so; `instanceof` breaks across copies). */
export function isCluster(client: Redis | Cluster): client is Cluster {
  return (client as { isCluster?: boolean }).isCluster === true;
}
