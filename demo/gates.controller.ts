import { Controller, Get } from '@nestjs/common';
import { QueueGateService } from '../src';
import { DEMO_LIMITS } from './demo.settings';

@Controller('v1/gates')
export class GatesController {
  constructor(private readonly gate: QueueGateService) {}

  /** Used and limit of every model's gate, as the gate (Redis or memory) sees them now. */
  @Get()
  list() {
    return Promise.all(Object.keys(DEMO_LIMITS).map((model) => this.gate.usage(model)));
  }
}
