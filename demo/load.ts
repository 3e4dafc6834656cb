/**
 * Sends a burst of concurrent task requests to a running demo gateway and prints, per model,
 * how many were admitted and rejected and the highest number of slots held at once, so the
 * limits can be seen holding. Usage: npm run demo:load [-- <base-url> [requests-per-model]]
 * Exits 1 when any model went over its limit.
 */
interface GateUsage {
  model: string;
  used: number;
  limit: number | null;
}

interface ModelReport {
  limit: number | null;
  sent: number;
  admitted: number;
  rejected: number;
  other: number;
  peak: number;
}

async function main(): Promise<void> {
  const base =
    process.argv[2] ?? process.env.DEMO_URL ?? `http://localhost:${process.env.PORT ?? 3000}`;
  const perModelArg = Number(process.argv[3]);
  const gates = await readGates(base);
  const reports = new Map<string, ModelReport>(
    gates.map((gate) => [
      gate.model,
      { limit: gate.limit, sent: 0, admitted: 0, rejected: 0, other: 0, peak: gate.used },
    ]),
  );

  let polling = true;
  const poller = (async () => {
    while (polling) {
      for (const gate of await readGates(base)) {
        const report = reports.get(gate.model)!;
        report.peak = Math.max(report.peak, gate.used);
      }
      await sleep(25);
    }
  })();

  const requests = gates.flatMap((gate) => {
    const count = perModelArg > 0 ? perModelArg : Math.max(10, (gate.limit ?? 10) * 4);
    return Array.from({ length: count }, () =>
      createTask(base, gate.model, reports.get(gate.model)!),
    );
  });
  await Promise.all(requests);
  await sleep(500);
  polling = false;
  await poller;

  const rows = [...reports].map(([model, r]) => ({
    model,
    limit: r.limit ?? 'none',
    sent: r.sent,
    admitted: r.admitted,
    'rejected (429)': r.rejected,
    other: r.other,
    'peak in-flight': r.peak,
    'limit held': r.limit === null || r.peak <= r.limit ? 'yes' : 'NO',
  }));
  console.log(`Burst of ${requests.length} concurrent requests to ${base}`);
  console.table(rows);
  if (rows.some((row) => row['limit held'] === 'NO')) process.exitCode = 1;
}

async function createTask(base: string, model: string, report: ModelReport): Promise<void> {
  report.sent++;
  const response = await fetch(`${base}/v1/models/${encodeURIComponent(model)}/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ prompt: 'a lighthouse at dusk' }),
  });
  await response.arrayBuffer();
  if (response.status === 202) report.admitted++;
  else if (response.status === 429) report.rejected++;
  else report.other++;
}

async function readGates(base: string): Promise<GateUsage[]> {
  const response = await fetch(`${base}/v1/gates`);
  if (!response.ok) throw new Error(`GET ${base}/v1/gates answered ${response.status}`);
  return (await response.json()) as GateUsage[];
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

main().catch((error: unknown) => {
  console.error(`demo:load failed: ${error instanceof Error ? error.message : String(error)}`);
  console.error('Is the demo running? Start it with: npm start');
  process.exitCode = 1;
});
