import { join } from 'node:path';
import { type ChildFleet, startChildFleet } from './child-fleet';
import type { CompoundJob, CompoundResult } from './compound-protocol';

/** Child processes of the compound strictness test, each one application instance. */
export type CompoundFleet = ChildFleet<CompoundJob, CompoundResult>;

export function startCompoundFleet(size: number): Promise<CompoundFleet> {
  return startChildFleet(join(__dirname, 'compound-child.ts'), size, 'compound child');
}
