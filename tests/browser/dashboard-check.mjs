#!/usr/bin/env node
// Checks the Aspire dashboard of a running DataStack AppHost as a person would see it, in headless Debian Chromium
// driven by playwright-core: resources Running/Healthy, one trace and its spans, a resource's console log, and that
// the dashboard refuses a browser without the login token. Prints one JSON object on stdout (see README.md).
//
// Usage: node tests/browser/dashboard-check.mjs --login-url <https://host:port/login?t=TOKEN> --out <dir>
//          [--trace <substring of a trace name>]... [--resources postgres,analytics,processing,jupyter]
//          [--console-resource jupyter [--console-contains <text>]]... [--timeout-seconds 180]
//          [--chromium /usr/bin/chromium]
// Exit codes: 0 every check passed; 1 a check failed (stderr names the step, failure-<step>.png is saved); 2 usage.

import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import {
  checkUnauthenticated, readConsole, readTrace, redact, reloads, ROUTES, StepError, waitForResources,
} from './dashboard-pages.mjs';

const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const VIEWPORT = { width: 1600, height: 1000 };
const STEP_TIMEOUT_MS = { resources: 120_000, trace: 45_000, console: 30_000, unauthenticated: 20_000 };

// ---------------------------------------------------------------------------------------------------------------
const usage = 'usage: node dashboard-check.mjs --login-url <https://host:port/login?t=TOKEN> --out <dir> '
  + '[--trace <name substring> ...] [--resources a,b,c] [--console-resource name [--console-contains text]] ... '
  + '[--timeout-seconds 180] '
  + '[--chromium /usr/bin/chromium]';

function readOptions() {
  const { values } = parseArgs({
    options: {
      'login-url': { type: 'string' },
      out: { type: 'string' },
      trace: { type: 'string', multiple: true, default: [] },
      resources: { type: 'string', default: 'postgres,analytics,processing,jupyter' },
      'console-resource': { type: 'string', multiple: true, default: [] },
      'console-contains': { type: 'string', multiple: true, default: [] },
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
    // --console-contains pairs with the --console-resource of the same position.
    consoles: values['console-resource'].map((resource, i) => ({ resource, contains: values['console-contains'][i] })),
    timeoutMs: timeoutSeconds * 1000,
    chromium: values.chromium,
  };
}

// One JSON object on stdout, keys in the documented order; every string in it redacted.
function printResult({ resources, trace, traces, console, consoles, unauthenticated, screenshots, secretsShown, error }) {
  const ordered = { resources, trace, traces, console, consoles, unauthenticated, reloads, screenshots, secretsShown, error };
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

  const result = { resources: {}, screenshots: [], secretsShown: [] };
  // Secrets the caller passes (DASHBOARD_CHECK_SECRETS, one per line) are looked for in the text of every page as it
  // is rendered, before anything is redacted; "secretsShown" names the screenshots whose page showed one (never the
  // value). The output itself is redacted, so a scan of it could never find anything.
  const secrets = (process.env.DASHBOARD_CHECK_SECRETS ?? '').split('\n').filter((s) => s.length >= 8);
  const shot = async (page, name) => {
    const file = path.join(options.out, name);
    await page.screenshot({ path: file, fullPage: false, timeout: 15_000 });
    result.screenshots.push(file);
    const text = await page.evaluate(() => document.body.innerText);
    if (secrets.some((secret) => text.includes(secret))) {
      result.secretsShown.push(name);
    }
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

    // (c) The console log of each --console-resource shows lines (and one containing its --console-contains).
    // "console" is the first one's result, "consoles" all of them.
    for (const { resource, contains } of options.consoles) {
      step = 'console';
      const read = await readConsole(page, options.origin, resource, contains, within(STEP_TIMEOUT_MS.console));
      result.console ??= read;
      (result.consoles ??= []).push(read);
      await shot(page, `console-${resource}.png`);
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

process.exitCode = await main();
