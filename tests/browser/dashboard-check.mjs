#!/usr/bin/env node
// Checks the Aspire dashboard of a running DataStack AppHost as a person would see it, in headless Debian Chromium
// driven by playwright-core: resources Running/Healthy, one trace and its spans, a resource's console log, and that
// the dashboard refuses a browser without the login token. Prints one JSON object on stdout (see README.md).
//
// Usage: node tests/browser/dashboard-check.mjs --login-url <https://host:port/login?t=TOKEN> --out <dir>
//          [--trace <substring of a trace name>]... [--resources postgres,analytics,processing,jupyter]
//          [--console-resource jupyter] [--timeout-seconds 180] [--chromium /usr/bin/chromium]
// Exit codes: 0 every check passed; 1 a check failed (stderr names the step, failure-<step>.png is saved); 2 usage.

import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

// ---------------------------------------------------------------------------------------------------------------
// Selectors and routes of the Aspire 13.6.5 dashboard (Blazor Server + FluentUI), found in its rendered DOM.
// Accessible roles and labels first; the few CSS class names are those of Aspire's own components.
// ---------------------------------------------------------------------------------------------------------------
const ROUTES = {
  resources: '/',                                              // the Resources page (the login link lands here)
  traces: '/traces',
  consoleLogs: (resource) => `/consolelogs/resource/${encodeURIComponent(resource)}`,
  login: /\/login(\?|$)/,                                      // where an unauthenticated browser is sent
  traceDetail: /\/traces\/detail\/[0-9a-f]+/,
};
const SELECTORS = {
  // Resources grid: each resource is a role=row; its name cell's accessible name is "<Type>: <name>"
  // (e.g. "Container: postgres", "Project: processing", "PostgresDatabaseResource: analytics").
  gridRow: '[role="row"]',
  gridCell: '[role="gridcell"]',
  // The State cell (StateColumnDisplay): an icon and a text span, "Running" when healthy and
  // "Running (Unhealthy)" / "Running (Degraded)" otherwise; the icon is filled with var(--success) when all is well.
  stateText: '.state-column-cell > span',
  stateIcon: '.state-column-cell > svg.severity-icon',
  // Traces page: the search box (a FluentUI text input; its inner <input> lives in an open shadow root) and the
  // name cell of each trace row, whose accessible name is "Name: <resource>: <span name>\nTrace Id: <id>".
  tracesFilter: 'input[name="traces-search"]',
  traceNameCellPrefix: 'Name: ',
  // Trace detail: one role=row per span; 1st cell's name is "<resource>: <span name>", 2nd cell's is "<resource>";
  // the span name itself is rendered in a .span-name-container (waited for: the detail page has rendered spans).
  spanName: '.span-name-container',
  // Console logs: the region "Console logs" holds one role=log element per rendered line (virtualised).
  consoleRegion: '[role="region"][aria-label="Console logs"]',
  consoleLine: '[role="log"]',
  consoleLineText: '.log-content',
  // Login page: the token field of the dashboard's login form.
  loginTokenField: '#token-text-field',
};
const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const VIEWPORT = { width: 1600, height: 1000 };
const STEP_TIMEOUT_MS = { resources: 120_000, trace: 45_000, console: 30_000, unauthenticated: 20_000 };

// ---------------------------------------------------------------------------------------------------------------
const usage = 'usage: node dashboard-check.mjs --login-url <https://host:port/login?t=TOKEN> --out <dir> '
  + '[--trace <name substring> ...] [--resources a,b,c] [--console-resource name] [--timeout-seconds 180] '
  + '[--chromium /usr/bin/chromium]';

function readOptions() {
  const { values } = parseArgs({
    options: {
      'login-url': { type: 'string' },
      out: { type: 'string' },
      trace: { type: 'string', multiple: true, default: [] },
      resources: { type: 'string', default: 'postgres,analytics,processing,jupyter' },
      'console-resource': { type: 'string' },
      'timeout-seconds': { type: 'string', default: '180' },
      chromium: { type: 'string', default: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium' },
    },
    strict: true,
  });
  if (!values['login-url'] || !values.out) {
    throw new Error('--login-url and --out are required');
  }
  const loginUrl = new URL(values['login-url']);
  const timeoutSeconds = Number(values['timeout-seconds']);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) {
    throw new Error('--timeout-seconds must be a positive number');
  }
  return {
    loginUrl,
    origin: loginUrl.origin,
    out: path.resolve(values.out),
    traces: values.trace,
    resources: values.resources.split(',').map((r) => r.trim()).filter(Boolean),
    consoleResource: values['console-resource'],
    timeoutMs: timeoutSeconds * 1000,
    chromium: values.chromium,
  };
}

// The login token (and any other key=value secret) never reaches stdout or stderr.
function redact(text) {
  return String(text).replace(/\x1b\[[0-9;]*m/g, '')
    .replace(/([?&](?:t|token|key|api[-_]?key|password)=)[^&\s"']+/gi, '$1<redacted>')
    .replace(/\b(token|password|api[-_]?key)(\s*[=:]\s*)\S+/gi, '$1$2<redacted>');
}

// A failed check; `partial` holds what the step did see, for the JSON output.
class StepError extends Error {
  constructor(message, partial = {}) {
    super(message);
    this.partial = partial;
  }
}

// One JSON object on stdout, keys in the documented order; every string in it redacted.
function printResult({ resources, trace, traces, console, unauthenticated, screenshots, error }) {
  const ordered = { resources, trace, traces, console, unauthenticated, screenshots, error };
  const json = JSON.stringify(ordered, (_, value) => (typeof value === 'string' ? redact(value) : value), 2);
  process.stdout.write(`${json}\n`);
}

// ---------------------------------------------------------------------------------------------------------------
async function main() {
  let options;
  try {
    options = readOptions();
  } catch (error) {
    process.stderr.write(`dashboard-check: ${redact(error.message)}\n${usage}\n`);
    return 2;
  }
  await mkdir(options.out, { recursive: true });
  const deadline = Date.now() + options.timeoutMs;
  const within = (stepMs) => Math.max(1_000, Math.min(stepMs, deadline - Date.now()));
  // A last resort if something ignores its own timeout: the process never outlives the budget by more than 30 s.
  const watchdog = setTimeout(() => {
    process.stderr.write(`dashboard-check: overall budget of ${options.timeoutMs / 1000}s exceeded; exiting\n`);
    process.exit(1);
  }, options.timeoutMs + 30_000);
  watchdog.unref();

  const result = { resources: {}, screenshots: [] };
  const shot = async (page, name) => {
    const file = path.join(options.out, name);
    await page.screenshot({ path: file, fullPage: false, timeout: 15_000 });
    result.screenshots.push(file);
    return file;
  };

  let browser;
  let page;
  let step = 'launch';
  try {
    // Playwright's default launch uses a fresh temporary user-data-dir and deletes it on close.
    browser = await chromium.launch({
      executablePath: options.chromium, headless: true, args: CHROMIUM_FLAGS, timeout: within(30_000),
    });
    step = 'login';
    const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: VIEWPORT });
    page = await context.newPage();

    // (a) The login link with its token lands on the Resources page; wait for every resource to be Running/Healthy.
    await page.goto(options.loginUrl.href, { waitUntil: 'domcontentloaded', timeout: within(30_000) });
    if (ROUTES.login.test(new URL(page.url()).pathname)) {
      throw new StepError('the login link did not sign in: the browser is still on the login page (wrong token?)');
    }
    step = 'resources';
    result.resources = await waitForResources(page, options.resources, within(STEP_TIMEOUT_MS.resources));
    await shot(page, 'resources.png');

    // (b) A trace whose name contains --trace, opened from the Traces page, with its spans and their resources.
    // --trace may be repeated: "trace" is the first one's result, "traces" all of them (trace.png, trace-2.png, ...).
    for (const [index, nameContains] of options.traces.entries()) {
      step = 'trace';
      const trace = await readTrace(page, options.origin, nameContains, within(STEP_TIMEOUT_MS.trace));
      result.trace ??= trace;
      (result.traces ??= []).push(trace);
      await page.mouse.move(VIEWPORT.width - 1, VIEWPORT.height - 1); // no hover highlight in the picture
      await shot(page, index === 0 ? 'trace.png' : `trace-${index + 1}.png`);
    }

    // (c) The console log of --console-resource shows lines.
    if (options.consoleResource) {
      step = 'console';
      result.console = await readConsole(page, options.origin, options.consoleResource,
        within(STEP_TIMEOUT_MS.console));
      await shot(page, `console-${options.consoleResource}.png`);
    }

    // (d) A browser without the token is sent to the login page and sees no resource data.
    step = 'unauthenticated';
    const anonymous = await browser.newContext({ ignoreHTTPSErrors: true, viewport: VIEWPORT });
    page = await anonymous.newPage();
    result.unauthenticated = await checkUnauthenticated(page, options.origin, within(STEP_TIMEOUT_MS.unauthenticated));
    await shot(page, 'unauthenticated.png');

    printResult(result);
    return 0;
  } catch (error) {
    const message = redact(error instanceof StepError ? error.message : `${error.name}: ${error.message}`);
    if (page) {
      await shot(page, `failure-${step}.png`).catch((e) => {
        process.stderr.write(`dashboard-check: could not save failure-${step}.png: ${redact(e.message)}\n`);
      });
    }
    Object.assign(result, error.partial);
    result.error = { step, message };
    printResult(result);
    process.stderr.write(`dashboard-check: step '${step}' failed: ${message}\n`);
    return 1;
  } finally {
    await browser?.close().catch(() => {});
    clearTimeout(watchdog);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Reads the State cell of every resource row, in the page: { name: { state, health, text } }.
function readResourceStates(selectors) {
  const states = {};
  for (const row of document.querySelectorAll(selectors.gridRow)) {
    const nameCell = row.querySelector(selectors.gridCell);
    const stateSpan = row.querySelector(selectors.stateText);
    const label = nameCell?.getAttribute('aria-label') ?? '';
    if (!stateSpan || !label.includes(': ')) {
      continue;
    }
    const name = label.slice(label.indexOf(': ') + 2).trim();
    const text = stateSpan.textContent.trim();
    const match = /^(.*?)(?: \((.+)\))?$/.exec(text);
    const iconFill = row.querySelector(selectors.stateIcon)?.getAttribute('style') ?? '';
    // Aspire shows "Running" only when the health status is Healthy, "Running (Unhealthy)" otherwise.
    const health = match[2] ?? (match[1] === 'Running' && iconFill.includes('--success') ? 'Healthy' : null);
    states[name] = { state: match[1], health, text };
  }
  return states;
}

async function waitForResources(page, names, timeoutMs) {
  const until = Date.now() + timeoutMs;
  const ready = (s) => s?.state === 'Running' && s.health === 'Healthy';
  // Locator waits only (the page's content security policy forbids evaluating strings): each named row's State
  // text becomes exactly "Running" (healthy), or "Failed to start" (no point waiting longer).
  for (const name of names) {
    const nameCell = page.getByRole('gridcell', { name: new RegExp(`^[^:]+: ${escapeRegExp(name)}$`) });
    const state = page.locator(SELECTORS.gridRow).filter({ has: nameCell }).locator(SELECTORS.stateText)
      .filter({ hasText: /^(Running|Failed to start)$/ });
    const left = until - Date.now();
    if (left <= 0 || !(await state.first().waitFor({ timeout: left }).then(() => true, timeoutOnly))) {
      break;
    }
  }
  const states = await page.evaluate(readResourceStates, SELECTORS);
  const seen = Object.fromEntries(names.map((n) => [n, { state: states[n]?.state ?? null,
    health: states[n]?.health ?? null }]));
  const notReady = names.filter((n) => !ready(states[n]));
  if (notReady.length > 0) {
    const failed = notReady.filter((n) => states[n]?.state === 'Failed to start');
    const list = notReady.map((n) => `${n}=${states[n]?.text ?? '(no row)'}`).join(', ');
    throw new StepError(failed.length > 0
      ? `the Resources page shows ${failed.join(', ')} as "Failed to start" (not waiting longer); not ready: ${list}`
      : `waited up to ${Math.round(timeoutMs / 1000)}s for resources ${names.join(', ')} `
        + `to be Running and Healthy on the Resources page; not ready: ${list}`, { resources: seen });
  }
  return seen;
}

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// A timed-out wait is an answer (false); any other error is not.
function timeoutOnly(error) {
  if (error.name === 'TimeoutError') {
    return false;
  }
  throw error;
}

// ---------------------------------------------------------------------------------------------------------------
async function readTrace(page, origin, nameContains, timeoutMs) {
  const until = Date.now() + timeoutMs;
  const left = () => Math.max(1_000, until - Date.now());
  await page.goto(new URL(ROUTES.traces, origin).href, { waitUntil: 'domcontentloaded', timeout: left() });
  const filter = page.locator(SELECTORS.tracesFilter);
  await filter.waitFor({ timeout: left() }).catch(() => {
    throw new StepError(`waited for the Traces page's filter box (${SELECTORS.tracesFilter})`);
  });
  await filter.fill(nameContains, { timeout: left() });
  // The trace list is sorted oldest first: the last matching row is the newest trace of that name.
  const matching = page.locator(`${SELECTORS.gridCell}[aria-label^="${SELECTORS.traceNameCellPrefix}"]`)
    .filter({ hasText: nameContains });
  try {
    await matching.first().waitFor({ timeout: left() });
  } catch {
    throw new StepError(`waited up to ${Math.round(timeoutMs / 1000)}s for a trace whose name contains `
      + `"${nameContains}" on the Traces page; none appeared`);
  }
  const cell = matching.last();
  const label = (await cell.getAttribute('aria-label')) ?? '';
  const traceName = label.slice(SELECTORS.traceNameCellPrefix.length).split('\n')[0].trim();
  await cell.click({ timeout: left() });
  await page.waitForURL(ROUTES.traceDetail, { timeout: left() }).catch(() => {
    throw new StepError(`clicked trace "${traceName}" but the trace detail page did not open`);
  });
  // Span rows: a row whose first two cells are "<resource>: <span name>" and "<resource>". A client span to a
  // resource without telemetry of its own (the database) adds a line "Outgoing call to <peer>" to the first.
  const readSpans = (selectors) => [...document.querySelectorAll(selectors.gridRow)].flatMap((row) => {
    const cells = row.querySelectorAll(selectors.gridCell);
    const first = cells[0]?.getAttribute('aria-label') ?? '';
    const resource = cells[1]?.getAttribute('aria-label') ?? '';
    if (!resource || !first.startsWith(`${resource}: `)) {
      return [];
    }
    const [name, ...rest] = first.slice(resource.length + 2).split('\n').map((l) => l.trim());
    const peer = rest.map((l) => /^Outgoing call to (.+)$/.exec(l)?.[1]).find(Boolean);
    return [peer ? { name, resource, peer } : { name, resource }];
  });
  // Once in many runs the detail grid (virtualised) stayed empty after an in-app navigation although its header
  // counted the spans; a person would reload the page, and so does this check, once, and says so in its output.
  const spanName = page.locator(SELECTORS.spanName).first();
  let reloaded = false;
  if (!(await spanName.waitFor({ timeout: Math.min(15_000, left()) }).then(() => true, timeoutOnly))) {
    reloaded = true;
    await page.reload({ waitUntil: 'domcontentloaded', timeout: left() });
    await spanName.waitFor({ timeout: left() }).catch(() => {
      throw new StepError(`waited for span rows on the detail page of trace "${traceName}" (reloaded once); `
        + 'none rendered');
    });
  }
  const spans = await page.evaluate(readSpans, SELECTORS);
  return { found: true, name: traceName, url: page.url(), reloaded, spans };
}

// ---------------------------------------------------------------------------------------------------------------
async function readConsole(page, origin, resource, timeoutMs) {
  await page.goto(new URL(ROUTES.consoleLogs(resource), origin).href,
    { waitUntil: 'domcontentloaded', timeout: timeoutMs });
  const lines = page.locator(SELECTORS.consoleRegion).locator(SELECTORS.consoleLine);
  try {
    await lines.first().waitFor({ timeout: timeoutMs });
  } catch {
    throw new StepError(`waited up to ${Math.round(timeoutMs / 1000)}s for console log lines of "${resource}" `
      + 'on the Console logs page; none appeared');
  }
  const texts = await lines.locator(SELECTORS.consoleLineText).allTextContents();
  const visible = texts.map((t) => t.trim()).filter(Boolean);
  if (visible.length === 0) {
    throw new StepError(`the Console logs page of "${resource}" shows only empty lines`);
  }
  return { resource, lines: visible.length, sample: visible.slice(-5).map(redact) };
}

// ---------------------------------------------------------------------------------------------------------------
async function checkUnauthenticated(page, origin, timeoutMs) {
  const url = new URL(ROUTES.resources, origin).href;
  await page.goto(url, { waitUntil: 'domcontentloaded', timeout: timeoutMs });
  try {
    await page.waitForURL(ROUTES.login, { timeout: timeoutMs });
    await page.locator(SELECTORS.loginTokenField).waitFor({ timeout: timeoutMs });
  } catch {
    throw new StepError(`a browser without the login token opened ${url} and was not sent to the login page `
      + `(ended on ${new URL(page.url()).pathname})`);
  }
  const resourceCells = await page.locator(SELECTORS.gridCell).count();
  if (resourceCells > 0) {
    throw new StepError(`the login page shown to a browser without the token renders ${resourceCells} grid cells`);
  }
  return { url, endedOn: new URL(page.url()).pathname, onLoginPage: true };
}

process.exitCode = await main();
