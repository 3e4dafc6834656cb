import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { DEMO_LIMITS } from '../../demo/demo.settings';
import { type DemoApp, startDemoApp } from '../support/demo-app';

/**
 * The demo's live page in headless Chromium, on the Redis store: a burst of task requests fills
 * a model's bar to its limit, the bar empties as the worker ends the tasks, and the page lists
 * the admissions and refusals. `SCREENSHOT=docs/live-page.png` saves the page with the bar full.
 */

// An explicit CHROMIUM_PATH is the only candidate: a wrong one is reported, not replaced.
const CHROMIUM_CANDIDATES = process.env.CHROMIUM_PATH
  ? [process.env.CHROMIUM_PATH]
  : ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];
const chromium = CHROMIUM_CANDIDATES.find((path) => existsSync(path));
if (!chromium) {
  console.warn(
    `live page e2e test SKIPPED: no Chromium executable at ${CHROMIUM_CANDIDATES.join(', ')}. ` +
      'Install the Debian package chromium, or set CHROMIUM_PATH.',
  );
}

// Functions given to the page run in the browser; the project compiles without the DOM types.
declare const document: any;
declare function getComputedStyle(element: unknown): { backgroundColor: string };

(chromium ? describe : describe.skip)('demo live page', () => {
  const model = 'video-large';
  const limit = DEMO_LIMITS[model];
  let demo: DemoApp | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let base: string;

  beforeAll(async () => {
    // Tasks long enough for the page to show the full bar, short enough to see it empty again.
    demo = await startDemoApp('live-page', [1_500, 2_000]);
    base = demo.base;

    browser = await puppeteer.launch({
      executablePath: chromium,
      headless: true,
      // Root in a container: Chromium's sandbox needs user namespaces it may not have.
      args: ['--no-sandbox', '--disable-dev-shm-usage'],
    });
    page = await browser.newPage();
    await page.setViewport({ width: 1040, height: 860, deviceScaleFactor: 1 });
    await page.goto(`${base}/`);
    await page.waitForSelector('#status[data-state="open"]');
    await page.waitForFunction(
      (count: number) => document.querySelectorAll('#models [data-model]').length === count,
      {},
      Object.keys(DEMO_LIMITS).length,
    );
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
    await demo?.close();
  });

  const post = (name: string) => demo!.post(name);

  /**
   * Waits until the model's bar row is full (used = limit) or empty, checked on every DOM
   * change, and returns what the row showed at that moment: the full state may last only as
   * long as a task runs.
   */
  const barWhere = async (name: string, test: 'full' | 'empty') => {
    const shown = await page.waitForFunction(
      (m: string, t: string) => {
        const row = document.querySelector(`#models [data-model="${m}"]`);
        if (!row) return false;
        const { used, limit, full } = row.dataset;
        const reached =
          t === 'full' ? used === limit && full === 'true' : used === '0' && full === 'false';
        return (
          reached && {
            numbers: row.querySelector('.numbers').textContent,
            colour: getComputedStyle(row.querySelector('.fill')).backgroundColor,
          }
        );
      },
      { polling: 'mutation', timeout: 20_000 },
      name,
      test,
    );
    return (await shown.jsonValue()) as { numbers: string; colour: string };
  };

  it('draws a bar per demo model, with its limit, empty at first', async () => {
    const rows = await page.$$eval('#models [data-model]', (elements) =>
      elements.map((element) => {
        const row = element as any;
        const numbers = row.querySelector('.numbers')!.textContent;
        return [row.dataset.model, row.dataset.used, row.dataset.limit, numbers];
      }),
    );
    expect(rows).toEqual(
      Object.entries(DEMO_LIMITS).map(([name, max]) => [name, '0', String(max), `0 / ${max}`]),
    );
    expect(await page.$eval('#pending-queued', (element) => element.textContent)).toBe('0');
  });

  it('fills the bar to the limit in a burst, empties it as tasks end, and lists each call', async () => {
    const full = barWhere(model, 'full');
    // Awaited below; a failed status check must not leave its rejection unhandled.
    full.catch(() => undefined);
    const responses = await Promise.all(Array.from({ length: limit + 4 }, () => post(model)));
    const admittedIds: string[] = [];
    for (const response of responses) {
      if (response.status === 202) {
        admittedIds.push(((await response.json()) as { task: { id: string } }).task.id);
      }
    }
    expect(responses.map((response) => response.status).sort()).toEqual([
      ...Array<number>(limit).fill(202),
      ...Array<number>(4).fill(429),
    ]);
    // Red at the limit: the page's --full colour, #d93b3b.
    expect(await full).toEqual({ numbers: `${limit} / ${limit}`, colour: 'rgb(217, 59, 59)' });

    // Other models in use too, so that the page (and its screenshot) shows more than one bar.
    // After the burst and its checks: BullMQ runs the demo's jobs one at a time, in order.
    const background = await Promise.all([
      ...Array.from({ length: 4 }, () => post('image-standard')),
      ...Array.from({ length: 3 }, () => post('llm-long')),
    ]);
    expect(background.map((response) => response.status)).toEqual(Array(7).fill(202));

    await page.waitForFunction(
      (m: string, count: number) =>
        document.querySelectorAll(`#recent tr[data-model="${m}"]`).length === count,
      { polling: 'mutation', timeout: 5_000 },
      model,
      limit + 4,
    );
    if (process.env.SCREENSHOT) {
      // The bars' width transition (0.2 s) ends first.
      await new Promise((resolve) => setTimeout(resolve, 300));
      mkdirSync(dirname(process.env.SCREENSHOT), { recursive: true });
      await page.screenshot({ path: process.env.SCREENSHOT, fullPage: true });
    }

    // Back to the page's --ok colour, #2f7de1.
    expect(await barWhere(model, 'empty')).toEqual({
      numbers: `0 / ${limit}`,
      colour: 'rgb(47, 125, 225)',
    });

    const listed = await page.$$eval(`#recent tr[data-model="${model}"]`, (elements) =>
      elements.map((element) => {
        const row = element as any;
        return { outcome: row.dataset.outcome, taskId: row.dataset.taskId };
      }),
    );
    const admittedListed = listed.filter((entry) => entry.outcome === 'admitted');
    expect(admittedListed.map((entry) => entry.taskId).sort()).toEqual(admittedIds.sort());
    expect(listed.filter((entry) => entry.outcome === 'full')).toHaveLength(4);
    expect(await page.$eval('#pending-queued', (element) => element.textContent)).toBe('0');
  }, 45_000);
});
