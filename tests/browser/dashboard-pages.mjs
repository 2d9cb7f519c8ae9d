// The pages of the Aspire dashboard, read as a person would read them: the selectors (all of them, here at the top)
// and one function per step of dashboard-check.mjs. Every wait waits for a DOM condition, bounded by its deadline.

// ---------------------------------------------------------------------------------------------------------------
// Selectors and routes of the Aspire 13.6.5 dashboard (Blazor Server + FluentUI), found in its rendered DOM.
// Accessible roles and labels first; the few CSS class names and ids are those of Aspire's own components.
// ---------------------------------------------------------------------------------------------------------------
export const ROUTES = {
  resources: '/',                                              // the Resources page (the login link lands here)
  traces: '/traces',
  consoleLogs: (resource) => `/consolelogs/resource/${encodeURIComponent(resource)}`,
  login: /\/login(\?|$)/,                                      // where an unauthenticated browser is sent
  traceDetail: /\/traces\/detail\/[0-9a-f]+/,
};
export const SELECTORS = {
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
  // Blazor's bar "An unhandled error has occurred. Reload": the page's server circuit has failed.
  circuitError: '#blazor-error-ui',
};

// ---------------------------------------------------------------------------------------------------------------
// A failed check; `partial` holds what the step did see, for the JSON output.
export class StepError extends Error {
  constructor(message, partial = {}) {
    super(message);
    this.partial = partial;
  }
}

// The login token (and any other key=value secret) never reaches stdout or stderr.
export function redact(text) {
  return String(text).replace(/\x1b\[[0-9;]*m/g, '')
    .replace(/([?&](?:t|token|key|api[-_]?key|password)=)[^&\s"']+/gi, '$1<redacted>')
    .replace(/\b(token|password|api[-_]?key)(\s*[=:]\s*)\S+/gi, '$1$2<redacted>');
}

// Reloads of a page whose dashboard circuit failed (or whose span grid stayed empty), as a person would reload it.
// Each is recorded in the output; a run allows MAX_RELOADS.
export const reloads = [];
const MAX_RELOADS = 3;

async function reload(page, step, reason, until) {
  if (reloads.length >= MAX_RELOADS) {
    throw new StepError(`the dashboard page failed again after ${MAX_RELOADS} reloads (${reason})`);
  }
  reloads.push({ step, page: new URL(page.url()).pathname, reason });
  await page.reload({ waitUntil: 'domcontentloaded', timeout: Math.max(1_000, until - Date.now()) });
}

// Waits until `target` is visible; false when `until` passes first. A failed circuit is reloaded, then waited on.
async function waitVisible(page, target, until, step) {
  const failed = page.locator(SELECTORS.circuitError).filter({ visible: true });
  for (;;) {
    const left = until - Date.now();
    if (left <= 0) {
      return false;
    }
    const seen = await target.or(failed).first().waitFor({ timeout: left }).then(() => true, timeoutOnly);
    if (!seen) {
      return false;
    }
    if ((await failed.count()) === 0) {
      return true;
    }
    await reload(page, step, 'An unhandled error has occurred (Blazor circuit failed)', until);
  }
}

// A timed-out wait is an answer (false); any other error is not.
function timeoutOnly(error) {
  if (error.name === 'TimeoutError') {
    return false;
  }
  throw error;
}

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// ---------------------------------------------------------------------------------------------------------------
// (a) Resources page. Reads the State cell of every resource row, in the page: { name: { state, health, text } }.
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

// A resource with replicas has one row per replica, named "<name>-<8 letters or digits>".
function replicaPattern(name) {
  return `${escapeRegExp(name)}(?:-[a-z0-9]{8})?`;
}

// The rows of one resource (all its replicas), folded into one state: ready only when every row is.
function foldReplicas(states, name) {
  const pattern = new RegExp(`^${replicaPattern(name)}$`);
  const rows = Object.entries(states).filter(([row]) => pattern.test(row)).map(([, s]) => s);
  const notReady = rows.find((s) => !(s.state === 'Running' && s.health === 'Healthy'));
  const shown = notReady ?? rows[0];
  return shown ? { ...shown, replicas: rows.length } : undefined;
}

export async function waitForResources(page, names, timeoutMs) {
  const until = Date.now() + timeoutMs;
  const ready = (s) => s?.state === 'Running' && s.health === 'Healthy';
  // Locator waits only (the page's content security policy forbids evaluating strings): each named row's State
  // text becomes exactly "Running" (healthy), or "Failed to start" (no point waiting longer).
  for (const name of names) {
    const nameCell = page.getByRole('gridcell', { name: new RegExp(`^[^:]+: ${replicaPattern(name)}$`) });
    const rows = page.locator(SELECTORS.gridRow).filter({ has: nameCell });
    const state = rows.locator(SELECTORS.stateText).filter({ hasText: /^(Running|Failed to start)$/ });
    if (!(await waitVisible(page, state.first(), until, 'resources'))) {
      break;
    }
    // Every replica, not just the first one seen.
    const count = await rows.count();
    if (!(await waitVisible(page, state.nth(count - 1), until, 'resources'))) {
      break;
    }
  }
  const rowStates = await page.evaluate(readResourceStates, SELECTORS);
  const states = Object.fromEntries(names.map((n) => [n, foldReplicas(rowStates, n)]));
  const seen = Object.fromEntries(names.map((n) => [n, { state: states[n]?.state ?? null,
    health: states[n]?.health ?? null, replicas: states[n]?.replicas ?? 0 }]));
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

// ---------------------------------------------------------------------------------------------------------------
// (b) Traces page, then the detail page of the newest trace whose name contains `nameContains`.
// Span rows: a row whose first two cells are "<resource>: <span name>" and "<resource>". A client span to a
// resource without telemetry of its own (the database) adds a line "Outgoing call to <peer>" to the first.
function readSpans(selectors) {
  return [...document.querySelectorAll(selectors.gridRow)].flatMap((row) => {
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
}

export async function readTrace(page, origin, nameContains, timeoutMs) {
  const until = Date.now() + timeoutMs;
  const left = () => Math.max(1_000, until - Date.now());
  await page.goto(new URL(ROUTES.traces, origin).href, { waitUntil: 'domcontentloaded', timeout: left() });
  const filter = page.locator(SELECTORS.tracesFilter);
  if (!(await waitVisible(page, filter, until, 'trace'))) {
    throw new StepError(`waited for the Traces page's filter box (${SELECTORS.tracesFilter})`);
  }
  await filter.fill(nameContains, { timeout: left() });
  // The trace list is sorted oldest first: the last matching row is the newest trace of that name.
  const matching = page.locator(`${SELECTORS.gridCell}[aria-label^="${SELECTORS.traceNameCellPrefix}"]`)
    .filter({ hasText: nameContains });
  if (!(await waitVisible(page, matching, until, 'trace'))) {
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
  // Once in many runs the detail grid (virtualised) stayed empty after the in-app navigation although its header
  // counted the spans: reload it once, as a person would.
  const spanName = page.locator(SELECTORS.spanName);
  if (!(await waitVisible(page, spanName, Math.min(until, Date.now() + 15_000), 'trace'))) {
    await reload(page, 'trace', 'the span grid stayed empty', until);
    if (!(await waitVisible(page, spanName, until, 'trace'))) {
      throw new StepError(`waited for span rows on the detail page of trace "${traceName}"; none rendered`);
    }
  }
  const spans = await page.evaluate(readSpans, SELECTORS);
  return { found: true, name: traceName, url: page.url(), spans };
}

// ---------------------------------------------------------------------------------------------------------------
// (c) Console logs page of one resource.
// With `contains`, waits until a visible line contains that text (the view follows the end of the log).
export async function readConsole(page, origin, resource, contains, timeoutMs) {
  const until = Date.now() + timeoutMs;
  await page.goto(new URL(ROUTES.consoleLogs(resource), origin).href,
    { waitUntil: 'domcontentloaded', timeout: timeoutMs });
  const lines = page.locator(SELECTORS.consoleRegion).locator(SELECTORS.consoleLine);
  const wanted = contains ? lines.filter({ hasText: contains }) : lines;
  if (!(await waitVisible(page, wanted, until, 'console'))) {
    throw new StepError(`waited up to ${Math.round(timeoutMs / 1000)}s for console log lines of "${resource}" `
      + `${contains ? `containing "${contains}" ` : ''}on the Console logs page; none appeared`);
  }
  const texts = await lines.locator(SELECTORS.consoleLineText).allTextContents();
  const visible = texts.map((t) => t.trim()).filter(Boolean);
  if (visible.length === 0) {
    throw new StepError(`the Console logs page of "${resource}" shows only empty lines`);
  }
  const matched = contains ? redact((await wanted.first().locator(SELECTORS.consoleLineText).textContent()).trim())
    : undefined;
  return { resource, lines: visible.length, matched, sample: visible.slice(-5).map(redact) };
}

// ---------------------------------------------------------------------------------------------------------------
// (d) A browser without the token, sent to the dashboard root.
export async function checkUnauthenticated(page, origin, timeoutMs) {
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
