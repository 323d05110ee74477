// The web UI in headless Chromium against a real cluster: run by tests/web_ui.rs with node,
// playwright-core on NODE_PATH and the browser at $CHROMIUM (flinkrs_testbed::Browser).
//
// The cluster is idle when this starts. The script checks the overview's TaskManager and slot
// counts, submits the job ($JOB_REQUEST) to the REST API and checks that the job list shows it
// within 2 s, that the job graph has the expected vertices with their parallelism, that the
// records counters rise without a page reload, that a checkpoint appears in the checkpoints
// tab, triggers a savepoint from the page, walks the pages by keyboard alone and cancels the
// job with the Cancel button; then submits $STOPPED_JOB_REQUEST and stops that job with a
// savepoint from its page. Any
// console error fails it. It writes a screenshot of each page into $ARTIFACTS and prints one
// JSON line of what it measured.
'use strict';

const assert = require('node:assert/strict');
const path = require('node:path');
const { chromium } = require('playwright-core');

const BASE = process.env.BASE_URL;
const ARTIFACTS = process.env.ARTIFACTS;
const JOB_REQUEST = process.env.JOB_REQUEST;
const TASKMANAGERS = Number(process.env.TASKMANAGERS);
const SLOTS = Number(process.env.SLOTS);
const SLOTS_USED = Number(process.env.SLOTS_USED);
/** [{name, parallelism}] of the job's vertices; [[from, to, shipStrategy]] of its edges. */
const VERTICES = JSON.parse(process.env.VERTICES);
const EDGES = JSON.parse(process.env.EDGES);
const SAVEPOINTS = process.env.SAVEPOINTS;
const STOPPED_JOB_REQUEST = process.env.STOPPED_JOB_REQUEST;

// A guard against a hang: every wait below has its own, shorter deadline.
setTimeout(() => {
  console.error('the walk did not end within 150 s');
  process.exit(3);
}, 150_000).unref();

const problems = [];
const screenshots = [];
/** The page, for a screenshot of where the walk failed. */
let current = null;

async function shoot(page, name) {
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  screenshots.push(file);
}

/** Submits a job to the REST API; returns its id. */
async function submit(request) {
  const submitted = await fetch(`${BASE}/flinkrs/jobs`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: request,
  });
  const text = await submitted.text();
  assert.equal(submitted.status, 202, text);
  return JSON.parse(text).jobid;
}

/** Follows the link to a page in the top bar. */
async function nav(page, name) {
  await page.locator(`.top nav a[data-page="${name}"]`).click();
}

/** The number in an element, e.g. the value of an overview card. */
async function numberIn(page, selector) {
  const text = await page.locator(selector).first().textContent();
  return Number(String(text).replace(/[^0-9-]/g, ''));
}

async function waitForNumber(page, selector, expected, timeout = 10_000) {
  await page.waitForFunction(
    ([s, n]) => {
      const element = document.querySelector(s);
      return element && Number(element.textContent.replace(/[^0-9-]/g, '')) === n;
    },
    [selector, expected],
    { timeout },
  );
}

/** Presses Tab (or Shift+Tab) until the focused element matches `selector`, at most `limit` times. */
async function tabTo(page, selector, { backwards = false, limit = 40 } = {}) {
  for (let i = 0; i < limit; i += 1) {
    await page.keyboard.press(backwards ? 'Shift+Tab' : 'Tab');
    const focused = await page.evaluate((s) => {
      const element = document.activeElement;
      return {
        matches: Boolean(element && element.matches(s)),
        tag: element ? element.tagName : '',
        outline: element ? getComputedStyle(element).outlineStyle : '',
        text: element ? (element.textContent || element.getAttribute('aria-label') || '').trim().slice(0, 60) : '',
      };
    }, selector);
    // Every stop of the tab order is a real control, and shows that it has the focus.
    assert.ok(['A', 'BUTTON', 'INPUT', 'MAIN', 'a'].includes(focused.tag), `focus on a ${focused.tag} (${focused.text})`);
    if (focused.tag !== 'MAIN') assert.notEqual(focused.outline, 'none', `no focus outline on ${focused.tag} ${focused.text}`);
    if (focused.matches) return;
  }
  throw new Error(`${selector} never got the focus in ${limit} presses of Tab`);
}

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM,
    args: process.env.CHROMIUM_ARGS.split(','),
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  current = page;
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error on ${page.url()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`uncaught error on ${page.url()}: ${error.message}`));

  // The first load: the page and its assets, and how long until the overview shows numbers.
  let firstLoadBytes = 0;
  const counted = (response) => {
    if (!response.url().includes('/flinkrs/web/') && new URL(response.url()).pathname !== '/') return;
    response.body().then((body) => { firstLoadBytes += body.length; }, () => {});
  };
  page.on('response', counted);
  await page.goto(`${BASE}/`);
  await waitForNumber(page, '[data-stat="taskmanagers"]', TASKMANAGERS);
  // From the start of the navigation to the page's first render with the REST API's data.
  const firstRenderMs = await page.evaluate(() => performance.getEntriesByName('flinkrs-first-render')[0].startTime);
  page.off('response', counted);
  assert.equal(new URL(page.url()).hash, '#/overview');
  await waitForNumber(page, '[data-stat="slots-total"]', SLOTS);
  await waitForNumber(page, '[data-stat="slots-available"]', SLOTS);
  await waitForNumber(page, '[data-stat="jobs-running"]', 0);

  // The job list, then the job submitted to the REST API: it shows up within 2 s.
  await nav(page, 'jobs');
  await page.getByText('The JobManager has no job yet.').waitFor({ timeout: 5_000 });
  await page.evaluate(() => { window.notReloaded = true; });
  const job = await submit(JOB_REQUEST);
  const submittedAt = Date.now();
  await page.locator(`a[data-job="${job}"]`).waitFor({ timeout: 2_000 });
  const appearedWithinMs = Date.now() - submittedAt;
  await page.locator('tr', { has: page.locator(`a[data-job="${job}"]`) }).getByText('RUNNING', { exact: true }).waitFor({ timeout: 30_000 });
  assert.equal(await page.evaluate(() => window.notReloaded), true, 'the job list reloaded the page');
  await shoot(page, 'jobs');

  // The overview counts the job's slots.
  await nav(page, 'overview');
  await waitForNumber(page, '[data-stat="jobs-running"]', 1);
  await waitForNumber(page, '[data-stat="slots-available"]', SLOTS - SLOTS_USED);
  assert.equal(await numberIn(page, '[data-stat="taskmanagers"]'), TASKMANAGERS);
  await shoot(page, 'overview');

  // The job's graph: its vertices with their parallelism, its edges with how they ship.
  await page.locator(`a[data-job="${job}"]`).first().click();
  await page.waitForFunction((n) => document.querySelectorAll('svg a.vertex').length === n, VERTICES.length, { timeout: 10_000 });
  const drawn = await page.$$eval('svg a.vertex', (elements) => elements.map((element) => ({
    name: element.querySelector('title').textContent,
    parallelism: Number(element.dataset.parallelism),
    shown: element.querySelector('[data-line="parallelism"]').textContent,
  })));
  assert.deepEqual(
    drawn.map(({ name, parallelism }) => ({ name, parallelism })).sort((a, b) => a.name.localeCompare(b.name)),
    VERTICES.slice().sort((a, b) => a.name.localeCompare(b.name)),
  );
  for (const vertex of drawn) assert.match(vertex.shown, new RegExp(`^Parallelism: ${vertex.parallelism} · `));
  const ids = Object.fromEntries(await page.$$eval('svg a.vertex', (elements) => elements.map((element) => [element.querySelector('title').textContent, element.dataset.vertex])));
  const edges = await page.$$eval('svg path.edge', (elements) => elements.map((element) => element.dataset.edge));
  assert.deepEqual(edges.sort(), EDGES.map(([from, to]) => `${ids[from]}-${ids[to]}`).sort());
  const labels = await page.$$eval('svg text.edge-label', (elements) => elements.map((element) => element.textContent));
  assert.deepEqual(labels.sort(), EDGES.map(([, , strategy]) => strategy).sort());

  // The records counters rise, refreshed in place.
  const source = page.locator(`svg a.vertex[data-vertex="${ids[VERTICES[0].name]}"] [data-line="records"]`);
  const recordsOut = async () => Number((await source.textContent()).split('out ')[1].replace(/,/g, ''));
  await page.waitForFunction((id) => {
    const line = document.querySelector(`svg a.vertex[data-vertex="${id}"] [data-line="records"]`);
    return line && Number(line.textContent.split('out ')[1].replace(/,/g, '')) > 0;
  }, ids[VERTICES[0].name], { timeout: 15_000 });
  const before = await recordsOut();
  await page.waitForFunction(([id, n]) => {
    const line = document.querySelector(`svg a.vertex[data-vertex="${id}"] [data-line="records"]`);
    return line && Number(line.textContent.split('out ')[1].replace(/,/g, '')) > n;
  }, [ids[VERTICES[0].name], before], { timeout: 10_000 });
  const after = await recordsOut();
  // Every vertex fed by an edge counts the bytes it reads.
  for (const [, to] of EDGES) {
    await page.waitForFunction((id) => {
      const line = document.querySelector(`svg a.vertex[data-vertex="${id}"] [data-line="bytes"]`);
      return line && /^Bytes in [1-9]/.test(line.textContent);
    }, ids[to], { timeout: 10_000 });
  }
  assert.equal(await page.evaluate(() => window.notReloaded), true, 'the job page reloaded');
  await shoot(page, 'job-graph');

  // A vertex: one row per subtask.
  await page.locator(`svg a.vertex[data-vertex="${ids[VERTICES[0].name]}"]`).click();
  await page.waitForFunction((n) => document.querySelectorAll('[data-part="body"] tbody tr').length === n, VERTICES[0].parallelism, { timeout: 10_000 });
  await shoot(page, 'job-vertex');

  // A checkpoint appears in the checkpoints tab.
  await page.getByRole('link', { name: 'Checkpoints', exact: true }).click();
  await page.waitForFunction(() => {
    const completed = document.querySelector('[data-stat="checkpoints-completed"]');
    return completed && Number(completed.textContent) >= 1 && document.querySelector('[data-checkpoint]');
  }, null, { timeout: 30_000 });
  // The history lists the newest first, without gaps: the newest is the count triggered
  // at that refresh (none failed).
  // (Read at once: a refresh changes both.)
  const { listed, triggered, failed } = await page.evaluate(() => ({
    listed: [...document.querySelectorAll('[data-checkpoint]')].map((cell) => Number(cell.dataset.checkpoint)),
    triggered: Number(document.querySelector('[data-stat="checkpoints-total"]').textContent),
    failed: Number(document.querySelector('[data-stat="checkpoints-failed"]').textContent),
  }));
  assert.equal(failed, 0);
  assert.equal(listed[0], triggered, `history ${listed} of ${triggered} triggered`);
  listed.forEach((id, i) => assert.equal(id, listed[0] - i, `history ${listed}`));
  await shoot(page, 'job-checkpoints');

  await page.getByRole('link', { name: 'Exceptions', exact: true }).click();
  await page.getByText('The job has no exceptions.').waitFor({ timeout: 10_000 });
  await shoot(page, 'job-exceptions');

  await page.getByRole('link', { name: 'Configuration', exact: true }).click();
  await page.getByText('execution.checkpointing.interval', { exact: true }).waitFor({ timeout: 10_000 });
  await shoot(page, 'job-configuration');

  // A savepoint into the directory typed in; the live refresh keeps what was typed.
  await page.locator('#savepoint-directory').fill(SAVEPOINTS);
  await page.locator('button[data-action="savepoint"]').click();
  const operation = page.locator('[data-operation]', { hasText: 'Savepoint completed: ' });
  await operation.waitFor({ timeout: 30_000 });
  const savepoint = (await operation.textContent()).split('Savepoint completed: ')[1];
  assert.ok(savepoint.startsWith(`file:${SAVEPOINTS}/savepoint-`), savepoint);
  assert.equal(await page.locator('#savepoint-directory').inputValue(), SAVEPOINTS);

  await nav(page, 'taskmanagers');
  await page.waitForFunction((n) => document.querySelectorAll('a[data-taskmanager]').length === n, TASKMANAGERS, { timeout: 10_000 });
  await shoot(page, 'taskmanagers');
  await page.locator('a[data-taskmanager]').first().click();
  await page.getByRole('heading', { name: 'Allocated slots' }).waitFor({ timeout: 10_000 });
  await shoot(page, 'taskmanager');

  await nav(page, 'jobmanager');
  await page.getByText('jobmanager.rpc.port', { exact: true }).waitFor({ timeout: 10_000 });
  await shoot(page, 'jobmanager');

  // By keyboard alone, from a fresh load: the skip link comes first, then the pages' links;
  // the job, a vertex of its graph, its checkpoints tab, and the Cancel button, which cancels
  // the job.
  await page.goto('about:blank');
  await page.goto(`${BASE}/#/overview`);
  await waitForNumber(page, '[data-stat="jobs-running"]', 1);
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Skip to content');
  await tabTo(page, '.top nav a[data-page="jobs"]');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => location.hash === '#/jobs');
  await page.locator(`a[data-job="${job}"]`).waitFor({ timeout: 5_000 });
  await tabTo(page, `a[data-job="${job}"]`);
  await page.keyboard.press('Enter');
  await page.waitForFunction((id) => location.hash === `#/jobs/${id}/overview`, job);
  await page.locator('svg a.vertex').first().waitFor({ timeout: 10_000 });
  // Into the graph: a vertex opens its subtasks.
  await tabTo(page, 'svg a.vertex');
  const vertex = await page.evaluate(() => document.activeElement.dataset.vertex);
  await page.keyboard.press('Enter');
  await page.waitForFunction(([id, v]) => location.hash === `#/jobs/${id}/vertices/${v}`, [job, vertex]);
  await page.getByText('Back to the job graph').waitFor({ timeout: 10_000 });
  await tabTo(page, '[data-key="tab-checkpoints"]');
  await page.keyboard.press('Enter');
  await page.waitForFunction((id) => location.hash === `#/jobs/${id}/checkpoints`, job);
  await page.locator('[data-checkpoint]').first().waitFor({ timeout: 10_000 });
  // The live refresh keeps the focus where it was.
  await page.waitForTimeout(1_500);
  assert.equal(await page.evaluate(() => document.activeElement.dataset.key), 'tab-checkpoints', 'the refresh moved the focus');
  await tabTo(page, 'button[data-action="cancel"]', { backwards: true, limit: 5 });
  await page.keyboard.press('Enter');
  await page.locator('[data-part="head"] .state', { hasText: 'CANCELED' }).waitFor({ timeout: 30_000 });
  assert.equal(await page.locator('button[data-action="cancel"]').isDisabled(), true);
  const details = await (await fetch(`${BASE}/jobs/${job}`)).json();
  assert.equal(details.state, 'CANCELED');
  await shoot(page, 'job-canceled');

  // A second job, stopped with a savepoint by its button. The cluster's JobManager ends a
  // stopped job by cancelling it once the savepoint is complete (jobmanager/rest_gateway.rs),
  // so it shows CANCELED where Flink's would be FINISHED.
  const second = await submit(STOPPED_JOB_REQUEST);
  await page.evaluate((id) => { location.hash = `#/jobs/${id}/overview`; }, second);
  await page.locator('[data-part="head"] .state', { hasText: 'RUNNING' }).waitFor({ timeout: 30_000 });
  await page.locator('svg a.vertex').first().waitFor({ timeout: 10_000 });
  await page.locator('#savepoint-directory').fill(SAVEPOINTS);
  await page.locator('button[data-action="stop"]').click();
  const stopped = page.locator('[data-operation]', { hasText: 'Stop with savepoint completed: ' });
  await stopped.waitFor({ timeout: 30_000 });
  const stopSavepoint = (await stopped.textContent()).split('Stop with savepoint completed: ')[1];
  assert.ok(stopSavepoint.startsWith(`file:${SAVEPOINTS}/savepoint-`), stopSavepoint);
  await page.locator('[data-part="head"] .state', { hasText: 'CANCELED' }).waitFor({ timeout: 30_000 });
  await shoot(page, 'job-stopped');

  await nav(page, 'overview');
  await waitForNumber(page, '[data-stat="jobs-cancelled"]', 2);
  await waitForNumber(page, '[data-stat="jobs-running"]', 0);
  await waitForNumber(page, '[data-stat="slots-available"]', SLOTS);

  await browser.close();
  assert.deepEqual(problems, [], 'no console errors');
  console.log(JSON.stringify({
    job, firstLoadBytes, firstRenderMs, appearedWithinMs, recordsOut: [before, after], savepoint, stopSavepoint, screenshots,
  }));
}

main().catch(async (error) => {
  console.error(error && error.stack ? error.stack : String(error));
  if (problems.length) console.error(problems.join('\n'));
  if (current) {
    const file = path.join(ARTIFACTS, 'failed.png');
    await current.screenshot({ path: file, fullPage: true }).then(() => console.error(`the page then: ${file}`), () => {});
  }
  process.exit(1);
});
