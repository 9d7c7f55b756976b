// The Playwright side of benches/browser.rs: the same flow N times, per-run milliseconds and
// Node's resident memory (the browser's own processes are not counted, as for canary).
//   node flow.mjs BASE_URL RUNS launch|context
import { chromium } from 'playwright-core';

const [base, runs, mode] = [process.argv[2], Number(process.argv[3]), process.argv[4]];
const options = {
  executablePath: '/usr/lib/chromium/chromium',
  headless: true,
  args: ['--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run',
    ...(process.getuid() === 0 ? ['--no-sandbox'] : [])],
};
let shared = mode === 'context' ? await chromium.launch(options) : null;
const times = [];
for (let i = 0; i < runs; i++) {
  const t0 = performance.now();
  const browser = shared ?? await chromium.launch(options);
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(`${base}/login`);
  await page.fill('#email', 'demo@example.com');
  await page.fill('#password', 'demo');
  await page.click('button[type=submit]');
  await page.waitForSelector('.dashboard', { state: 'visible' });
  await page.screenshot({ path: '/tmp/canary-bench-playwright.png' });
  await context.close();
  if (!shared) await browser.close();
  times.push(performance.now() - t0);
}
if (shared) await shared.close();
console.log(JSON.stringify({ mode, times, rss: process.memoryUsage().rss }));
