import type { FleetChildMessage, FleetParentMessage } from './child-fleet';

/**
 * The child's side of a {@link startChildFleet} fleet: runs each job it is sent with `run` and
 * answers its result or failure; exits when told to stop or when the parent is gone.
 */
export function serveFleetJobs<Job, Result>(run: (job: Job) => Promise<Result>): void {
  const send = (message: FleetChildMessage<Result>) => process.send?.(message);
  process.on('message', (message: FleetParentMessage<Job>) => {
    if (message.type === 'stop') {
      process.disconnect();
      return;
    }
    run(message.job).then(
      (result) => send({ type: 'result', result }),
      (error) => send({ type: 'failed', error: String(error) }),
    );
  });
  // Without the parent there is nobody to report to.
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready' });
}
