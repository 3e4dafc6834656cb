import { Redis } from 'ioredis';

/** A fresh connection to the benchmark's server, ready to take commands. */
export async function connect(url: string): Promise<Redis> {
  const client = new Redis(url, { lazyConnect: true });
  await client.connect();
  return client;
}

/** Closes a connection, dropping it if QUIT cannot be sent. */
export async function disconnect(client: Redis): Promise<void> {
  await client.quit().catch(() => client.disconnect());
}
