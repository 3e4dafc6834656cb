import {
  type CallHandler,
  type CanActivate,
  Controller,
  Get,
  Injectable,
  type NestInterceptor,
  UseGuards,
  UseInterceptors,
} from '@nestjs/common';
import { ThrottlerGuard } from '@nestjs/throttler';
import type { Observable } from 'rxjs';
import { QueueLimited } from '../../src';
import { BENCH } from '../config';

/** A guard that admits everything: what any guard costs in Nest, with no work of its own. */
@Injectable()
class AdmitAllGuard implements CanActivate {
  canActivate(): boolean {
    return true;
  }
}

/** An interceptor that passes the handler's result through untouched. */
@Injectable()
class PassThroughInterceptor implements NestInterceptor {
  intercept(_context: unknown, next: CallHandler): Observable<unknown> {
    return next.handle();
  }
}

/**
 * The same tiny handler four times: behind the gate, bare, behind `@nestjs/throttler`'s guard
 * (Redis storage, a limit no run reaches), and behind a guard and an interceptor that do
 * nothing — the floor any decorator built from a guard and an interceptor (as `@QueueLimited`
 * is) starts from.
 */
@Controller()
export class BenchController {
  @Get('plain')
  plain(): { ok: true } {
    return { ok: true };
  }

  @Get('gated')
  @QueueLimited('http-bench', { release: 'response', limit: BENCH.http.limit })
  gated(): { ok: true } {
    return { ok: true };
  }

  @Get('throttled')
  @UseGuards(ThrottlerGuard)
  throttled(): { ok: true } {
    return { ok: true };
  }

  @Get('noop')
  @UseGuards(AdmitAllGuard)
  @UseInterceptors(PassThroughInterceptor)
  noop(): { ok: true } {
    return { ok: true };
  }
}
