import {
  Controller,
  Get,
  Header,
  Inject,
  type MessageEvent,
  type OnModuleDestroy,
  Sse,
} from '@nestjs/common';
import { Observable, type Subscriber } from 'rxjs';
import { type GateUsage, QueueGateService } from '../../src';
import { DEMO_SETTINGS } from '../demo.constants';
import type { DemoSettings } from '../demo.settings';
import { type LiveAdmission, LiveFeed } from './live-feed';
import { LIVE_PAGE_HTML } from './live-page.html';

/** How often a stream sends a frame when nothing happens. */
const TICK_MS = 250;

/** One frame of the live page's stream. */
export interface LiveFrame {
  /** When the frame was read, epoch ms. */
  at: number;
  /** Used and limit of each demo model; empty when the store did not answer. */
  models: Pick<GateUsage, 'model' | 'used' | 'limit' | 'holders' | 'waiting'>[];
  /** Releases this instance retries because the store did not answer, and those given up. */
  pending: { queued: number; dropped: number };
  /** The last acquire calls, newest first. */
  recent: LiveAdmission[];
  /** Why `models` is empty: the store's error. */
  error?: string;
}

/** The live page (`GET /`) and its stream of frames (`GET /live/events`). */
@Controller()
export class LiveController implements OnModuleDestroy {
  private readonly streams = new Set<Subscriber<MessageEvent>>();

  constructor(
    private readonly gate: QueueGateService,
    private readonly feed: LiveFeed,
    @Inject(DEMO_SETTINGS) private readonly settings: DemoSettings,
  ) {}

  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Cache-Control', 'no-store')
  page(): string {
    return LIVE_PAGE_HTML;
  }

  /**
   * A frame every {@link TICK_MS} and after every acquire and release. Reads never overlap: a
   * change that arrives during a read is answered by one more read after it, so a burst of
   * admissions costs a few store reads, not one per admission.
   */
  @Sse('live/events')
  events(): Observable<MessageEvent> {
    return new Observable<MessageEvent>((subscriber) => {
      let reading = false;
      let again = false;
      const push = async () => {
        if (reading) {
          again = true;
          return;
        }
        reading = true;
        try {
          do {
            again = false;
            const frame = await this.frame();
            if (!subscriber.closed) subscriber.next({ data: frame });
          } while (again && !subscriber.closed);
        } finally {
          reading = false;
        }
      };
      const send = () => void push();
      const timer = setInterval(send, TICK_MS);
      const unsubscribe = this.feed.subscribe(send);
      this.streams.add(subscriber);
      send();
      return () => {
        clearInterval(timer);
        unsubscribe();
        this.streams.delete(subscriber);
      };
    });
  }

  /** Ends the open streams, or an open page would hold the HTTP server's close until it leaves. */
  onModuleDestroy(): void {
    for (const stream of [...this.streams]) stream.complete();
  }

  private async frame(): Promise<LiveFrame> {
    const { queued, dropped } = this.gate.pendingReleases();
    const base = { at: Date.now(), pending: { queued, dropped }, recent: this.feed.recent() };
    try {
      const usages = await Promise.all(
        Object.keys(this.settings.limits).map((model) => this.gate.usage(model)),
      );
      const models = usages.map(({ model, used, limit, holders, waiting }) => ({
        model,
        used,
        limit,
        holders,
        waiting,
      }));
      return { ...base, models };
    } catch (error) {
      return { ...base, models: [], error: error instanceof Error ? error.message : String(error) };
    }
  }
}
