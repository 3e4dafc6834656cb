import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DemoModule } from './demo.module';
import { fromEnvironment } from './demo.settings';

async function main(): Promise<void> {
  const settings = fromEnvironment();
  const port = Number(process.env.PORT ?? 3000);
  const store = settings.redisUrl
    ? `Redis at ${settings.redisUrl.replace(/\/\/[^@/]*@/, '//***@')}`
    : 'memory (set REDIS_URL to share gates between instances)';
  const logger = new Logger('Demo');
  logger.log(`Starting the demo model gateway on port ${port}; store: ${store}.`);
  const app = await NestFactory.create(DemoModule.forRoot(settings));
  app.enableShutdownHooks();
  await app.listen(port);
  const limits = Object.entries(settings.limits).map(([model, limit]) => `${model}=${limit}`);
  logger.log(`Listening on http://localhost:${port}. Limits: ${limits.join(', ')}.`);
  logger.log(`Live page: http://localhost:${port}/`);
  logger.log('Try: npm run demo:load');
}

void main();
