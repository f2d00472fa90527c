// End-to-end test of the web dashboard: a real `procward daemon --listen 127.0.0.1:0` in a
// temp PROCWARD_HOME, Debian's Chromium driven by playwright-core, the page served by the
// daemon and talking to it over socket.io (web/PROTOCOL.md).
//
//   cd tests/web && npm ci && node dashboard.test.mjs
//
// Environment: PROCWARD_BIN (default target/debug/procward of this repository; nothing is
// built here), CHROMIUM_BIN (default /usr/bin/chromium). Screenshots of each step go to
// tests/web/artifacts/ (with the daemon's log). The whole run is bounded to ~120 s.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';
import { io } from 'socket.io-client';

import { hostSteps } from './hosts.steps.mjs';
import { SET, replicaSteps } from './replicas.steps.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..');
const PROCWARD = process.env.PROCWARD_BIN || path.join(REPO, 'target', 'debug', 'procward');
const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const ARTIFACTS = path.join(HERE, 'artifacts');
const OVERALL_MS = 110_000;
const STEP_MS = 20_000;

const MARKER = `pw-e2e-marker-${process.pid}-${Date.now()}`;
const MANAGED = `e2e-ticker-${process.pid}`;
const TICKER = "sh -c 'while true; do echo tick; sleep 0.2; done'";
const SLEEPER_JOB = "sh -c 'echo hello-queue; sleep 30'";
const FAILING_JOB = "sh -c 'exit 3'";
const STDERR_JOB = "sh -c 'echo queue-err >&2'";

const state = {
  home: null,
  daemon: null,
  daemonExit: null,
  address: null,
  token: null,
  owned: null, // the python3 process this test starts and later kills through the page
  ownedExit: null,
  managedPid: 0, // the managed ticker's pid (its process group), for teardown
  listener: null, // a python3 process of ours listening on a TCP port, killed by port
  listenerExit: null,
  listenerPort: 0,
  jobPids: [], // pids (process groups) of the queue jobs' attempts, for the last check
  browser: null,
  page: null,
  consoleErrors: [],
  sent: [], // socket.io frames the page sent
  jobEvents: 0, // the queue's `job` messages the page received
  failed: false,
};

/** Field 22 of /proc/PID/stat: start time in clock ticks since boot. */
function startTicks(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
}

// ---------------------------------------------------------------------------------------
// Helpers

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `probe` until it returns a truthy value; throws `what` after `ms`. */
async function waitFor(what, probe, ms = STEP_MS, every = 100) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${last.message})` : ''}`);
    }
    await sleep(every);
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

function procwardEnv() {
  return {
    ...process.env,
    PROCWARD_HOME: state.home,
    XDG_CONFIG_HOME: path.join(state.home, 'config'),
    RUST_LOG: process.env.RUST_LOG || 'info',
  };
}

async function shot(name) {
  if (!state.page) return;
  try {
    await state.page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: false });
  } catch (error) {
    console.error(`screenshot ${name} failed: ${error.message}`);
  }
}

/**
 * One step of the story: skipped once an earlier step failed (it would only fail in a
 * more confusing way), screenshot after it (and on failure).
 */
function step(name, fn) {
  test(name, { timeout: STEP_MS * 2 }, async (t) => {
    if (state.failed) {
      t.skip('an earlier step failed');
      return;
    }
    try {
      await fn(t);
      await shot(name);
    } catch (error) {
      state.failed = true;
      await shot(`${name}-FAILED`);
      throw error;
    }
  });
}

/** A socket.io client of the test's own (for checks and teardown, not for the page). */
async function rawClient() {
  const socket = io(`http://${state.address}`, {
    auth: { token: state.token },
    transports: ['websocket'],
    reconnection: false,
    timeout: 5000,
  });
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  return socket;
}

async function rawCall(event, payload = {}) {
  const socket = await rawClient();
  try {
    return await socket.timeout(5000).emitWithAck(event, payload);
  } finally {
    socket.disconnect();
  }
}

/** The first `selector` lies within `container` horizontally (not clipped off). */
async function assertInside(page, selector, container, what) {
  const inner = await page.locator(selector).first().boundingBox();
  const outer = await page.locator(container).first().boundingBox();
  assert.ok(inner && outer, `${what} and its table are shown`);
  assert.ok(
    inner.x >= outer.x && inner.x + inner.width <= outer.x + outer.width,
    `${what} fit in the table (${JSON.stringify(inner)} in ${JSON.stringify(outer)})`,
  );
}

/** Text of xterm's rows, one string per row, right-trimmed. */
/**
 * Types `command` + Enter into the focused terminal and waits (3 s) for `probe(rows)`;
 * types it again, up to 4 times, when the keystrokes were lost (focus still moving) or
 * the answer came from a state that had not settled yet.
 */
async function runInTerminal(page, command, probe) {
  let last = null;
  for (let attempt = 0; attempt < 4; attempt++) {
    await page.locator('[data-testid=term-container] .xterm').click();
    await page.keyboard.type(command(attempt));
    await page.keyboard.press('Enter');
    try {
      return await waitFor(`${command(attempt)} in the terminal`, async () => probe(await terminalRows(page), attempt), 3000);
    } catch (error) {
      last = error;
    }
  }
  throw last;
}

async function terminalRows(page) {
  return page.$$eval('[data-testid=term-container] .xterm-rows > div', (rows) =>
    rows.map((row) => row.textContent.replace(/\u00a0/g, ' ').trimEnd()),
  );
}

/** Pids of the processes in process group `pgid` (field 5 of /proc/PID/stat). */
function groupMembers(pgid) {
  const members = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') members.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return members;
}

/**
 * The daemon's newest job added as `command`, one of ours: `sh -c 'SCRIPT'`, queued as
 * ["sh", "-c", SCRIPT] or (with shell characters) ["/bin/sh", "-c", command].
 */
async function jobByCommand(command) {
  const script = command.replace(/^sh -c '(.*)'$/, '$1');
  const { jobs } = await rawCall('queue:list', {});
  return jobs
    .filter(({ spec: { command: argv } }) => argv[argv.length - 1] === command || argv[argv.length - 1] === script)
    .sort((a, b) => b.id - a.id)[0];
}

/** The queue table's row of the job whose command is `command` (waits for it). */
async function queueRow(page, command) {
  const row = page.locator('[data-testid=queue-row]').filter({ has: page.locator('.cmd', { hasText: command }) }).first();
  await row.waitFor();
  return row;
}

async function rowState(row) {
  return (await row.getByTestId('queue-state').textContent()).trim();
}

/** Records every state the page shows for job `id` (rows are re-rendered in place). */
async function watchRowStates(page, id) {
  await page.evaluate((jobId) => {
    const seen = [];
    window.__queueStates = seen;
    const look = () => {
      const row = document.querySelector(`[data-testid=queue-row][data-id="${jobId}"]`);
      const state = row && row.dataset.state;
      if (state && seen[seen.length - 1] !== state) seen.push(state);
    };
    look();
    new MutationObserver(look).observe(document.getElementById('queue-body'), {
      subtree: true, childList: true, attributes: true, characterData: true,
    });
  }, id);
}

// ---------------------------------------------------------------------------------------
// Teardown, also run by the watchdog when the overall time runs out

let tornDown = false;

async function teardown() {
  if (tornDown) return;
  tornDown = true;
  if (state.browser) {
    await Promise.race([state.browser.close().catch(() => {}), sleep(5000)]);
  }
  const daemonRuns = () => state.daemon && state.daemon.exitCode === null && state.daemon.signalCode === null;
  if (daemonRuns() && state.token) {
    // Queue jobs run under shims that outlive the daemon too: cancel whatever still runs.
    try {
      const { jobs } = await Promise.race([rawCall('queue:list', {}), sleep(5000).then(() => ({ jobs: [] }))]);
      for (const job of jobs || []) {
        if (['queued', 'delayed', 'running'].includes(job.state)) {
          await Promise.race([rawCall('queue:cancel', { id: job.id }).catch(() => {}), sleep(8000)]);
        }
      }
    } catch {
      // The daemon does not answer: the process groups are killed below.
    }
  }
  if (daemonRuns()) {
    // The managed process outlives the daemon by design: delete it first (through the
    // CLI, which needs no web transport; only while our daemon runs, or the CLI would
    // start another one).
    spawnSync(PROCWARD, ['delete', MANAGED], { env: procwardEnv(), timeout: 5_000, stdio: 'ignore' });
    spawnSync(PROCWARD, ['delete', SET], { env: procwardEnv(), timeout: 5_000, stdio: 'ignore' });
    spawnSync(PROCWARD, ['daemon', 'stop'], { env: procwardEnv(), timeout: 5_000, stdio: 'ignore' });
    await Promise.race([state.daemonExit, sleep(5000)]);
    if (daemonRuns()) {
      state.daemon.kill('SIGKILL');
      await Promise.race([state.daemonExit, sleep(2000)]);
    }
  }
  killLeftovers();
  for (const pid of state.jobPids) {
    if (groupMembers(pid).length) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // Gone meanwhile.
      }
    }
  }
  for (const child of [state.owned, state.listener]) {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  if (state.home) fs.rmSync(state.home, { recursive: true, force: true });
}

/**
 * Last resort when the delete above failed: the managed process's group (if it is still
 * our ticker) and the daemon's per-process shims for our temp home.
 */
function killLeftovers() {
  const cmdline = (pid) => {
    try {
      return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    } catch {
      return '';
    }
  };
  if (state.managedPid && cmdline(state.managedPid).includes('echo tick')) {
    try {
      process.kill(-state.managedPid, 'SIGKILL');
    } catch {
      // Gone meanwhile.
    }
  }
  if (!state.home) return;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const line = cmdline(entry);
    if (line.includes(' shim ') && line.includes(state.home)) {
      try {
        process.kill(Number(entry), 'SIGKILL');
      } catch {
        // Gone meanwhile.
      }
    }
  }
}

const watchdog = setTimeout(async () => {
  console.error(`the web end-to-end test ran past ${OVERALL_MS / 1000} s: giving up`);
  await Promise.race([teardown(), sleep(10_000)]);
  process.exit(1);
}, OVERALL_MS);
watchdog.unref();

// ---------------------------------------------------------------------------------------
// Set-up

before(async () => {
  assert.ok(fs.existsSync(PROCWARD), `no procward binary at ${PROCWARD}: run cargo build -p procward (or set PROCWARD_BIN)`);
  assert.ok(fs.existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_BIN)`);
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  for (const file of fs.readdirSync(ARTIFACTS)) {
    if (file.endsWith('.png') || file.endsWith('.log')) fs.rmSync(path.join(ARTIFACTS, file));
  }
  state.home = fs.mkdtempSync(path.join(os.tmpdir(), 'procward-web-e2e-'));

  // The daemon, in the foreground, as our child.
  const log = fs.openSync(path.join(ARTIFACTS, 'daemon.log'), 'w');
  state.daemon = spawn(PROCWARD, ['daemon', '--listen', '127.0.0.1:0'], {
    env: procwardEnv(),
    stdio: ['ignore', log, log],
  });
  fs.closeSync(log);
  state.daemonExit = once(state.daemon, 'exit');
  const tcpJson = path.join(state.home, 'tcp.json');
  const info = await waitFor('tcp.json', () => {
    if (state.daemon.exitCode !== null) {
      throw new Error(`the daemon exited with ${state.daemon.exitCode}; see artifacts/daemon.log`);
    }
    return fs.existsSync(tcpJson) && JSON.parse(fs.readFileSync(tcpJson, 'utf8'));
  });
  state.address = info.address;
  assert.match(state.address, /^127\.0\.0\.1:\d+$/);
  state.token = fs.readFileSync(path.join(state.home, 'token'), 'utf8').trim();
  assert.ok(state.token.length >= 16, 'the token is too short');

  // A process of our own to find and kill through the page; the marker is in its argv.
  state.owned = spawn(
    'python3',
    ['-c', "import sys, time; print('ready', flush=True); time.sleep(600)", MARKER],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  state.ownedExit = once(state.owned, 'exit');
  let out = '';
  state.owned.stdout.on('data', (chunk) => {
    out += chunk;
  });
  await waitFor('the test process to be ready', () => out.includes('ready'), 10_000);

  // And one listening on a free loopback port, to be killed by its port.
  state.listener = spawn(
    'python3',
    [
      '-c',
      "import socket, sys, time\n"
        + "s = socket.socket()\ns.bind(('127.0.0.1', 0))\ns.listen()\n"
        + "print(s.getsockname()[1], flush=True)\ntime.sleep(600)",
      MARKER.replace("marker", "listener"),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  state.listenerExit = once(state.listener, 'exit');
  let port = '';
  state.listener.stdout.on('data', (chunk) => {
    port += chunk;
  });
  state.listenerPort = await waitFor('the listener\'s port', () => /^\d+\n/.test(port) && Number(port.trim()), 10_000);

  state.browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
    timeout: 30_000,
  });
  const context = await state.browser.newContext({ viewport: { width: 1280, height: 860 } });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_MS);
  page.on('console', (message) => {
    if (message.type() === 'error') state.consoleErrors.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => state.consoleErrors.push(`pageerror: ${error.message}`));
  // What the page sends over socket.io (the kill must carry the row's start_ticks).
  page.on('websocket', (ws) => {
    ws.on('framesent', ({ payload }) => state.sent.push(String(payload)));
    ws.on('framereceived', ({ payload }) => {
      if (String(payload).includes('"type":"job"')) state.jobEvents += 1;
    });
  });
  state.page = page;
});

after(async () => {
  clearTimeout(watchdog);
  await teardown();
});

// ---------------------------------------------------------------------------------------
// The story

step('00-http', async () => {
  const base = `http://${state.address}`;
  const index = await fetch(`${base}/`);
  assert.equal(index.status, 200, 'GET / answers');
  assert.match(index.headers.get('content-type') || '', /text\/html/);
  assert.match(await index.text(), /data-testid="login-form"/, 'GET / is the dashboard');
  for (const file of ['app.js', 'style.css', 'vendor/socket.io.min.js', 'vendor/xterm.js', 'vendor/xterm.css', 'vendor/addon-fit.js']) {
    const response = await fetch(`${base}/${file}`);
    assert.equal(response.status, 200, `GET /${file}`);
    await response.arrayBuffer();
  }
  const engine = await fetch(`${base}/socket.io/?EIO=4&transport=polling`);
  assert.equal(engine.status, 200, 'socket.io answers the engine.io handshake');
  assert.match(await engine.text(), /^0\{.*"sid"/);
});

// Not a step of the story (the page prefers WebSocket): socket.io's long-polling
// transport, the fallback of browsers that cannot open a WebSocket, works too.
test('socket.io over long-polling', { timeout: STEP_MS }, async () => {
  for (const [token, expected] of [[state.token, 'connected'], ['wrong', 'invalid token']]) {
    const socket = io(`http://${state.address}`, {
      auth: { token },
      transports: ['polling'],
      reconnection: false,
      timeout: 5000,
    });
    try {
      const outcome = await new Promise((resolve) => {
        socket.once('connect', () => resolve('connected'));
        socket.once('connect_error', (error) => resolve(error.message));
      });
      assert.equal(outcome, expected);
      if (outcome === 'connected') {
        const ack = await socket.timeout(5000).emitWithAck('system:info', {});
        assert.equal(ack.ok, true);
        assert.ok(ack.info.memory_total > 0);
      }
    } finally {
      socket.disconnect();
    }
  }
});

step('01-login-wrong-token', async () => {
  const { page } = state;
  await page.goto(`http://${state.address}/`);
  await page.getByTestId('login-form').waitFor();
  await page.getByTestId('login-token').fill('not-the-token');
  await page.getByTestId('login-submit').click();
  const error = page.getByTestId('login-error');
  await error.waitFor();
  assert.equal((await error.textContent()).trim(), 'invalid token');
  assert.ok(await page.getByTestId('login-form').isVisible(), 'back on the sign-in form');
  assert.ok(await page.getByTestId('app').isHidden());
  assert.equal(await page.evaluate(() => sessionStorage.getItem('procward.token')), null);
});

step('02-login-overview', async () => {
  const { page } = state;
  await page.getByTestId('login-token').fill(state.token);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('nav').waitFor();
  await waitFor('connected', async () => (await page.getByTestId('conn-state').textContent()) === 'connected');
  assert.ok(!page.url().includes(state.token), 'the token is never in the URL');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('procward.token')), state.token);
  await waitFor('the hostname', async () => {
    const text = (await page.getByTestId('ov-hostname').textContent()).trim();
    return text && text !== '–' && !text.startsWith('(');
  });
  await waitFor('a CPU figure', async () => /\d%$/.test(await page.getByTestId('ov-cpu').textContent()));
  assert.match(await page.getByTestId('ov-memory').textContent(), /iB of .*iB/);
  assert.match(await page.getByTestId('ov-disk').textContent(), /iB of .*iB/);
  assert.match(await page.getByTestId('ov-uptime').textContent(), /\d/);
  // Let a few metrics samples draw the chart.
  await sleep(2500);
});

step('03-processes-filter', async () => {
  const { page } = state;
  await page.getByTestId('nav-processes').click();
  await page.getByTestId('view-processes').waitFor();
  // Unfiltered, sorted by CPU, the table is not empty.
  await page.locator('[data-testid=proc-row]').first().waitFor();
  await page.getByTestId('proc-filter').fill(MARKER);
  const row = page.locator(`[data-testid=proc-row][data-pid="${state.owned.pid}"]`);
  await row.waitFor();
  assert.match(await row.textContent(), new RegExp(MARKER));
  await waitFor('only matching rows', async () => (await page.locator('[data-testid=proc-row]').count()) === 1);
  // Sorting by a header marks the column.
  await page.getByTestId('sort-pid').click();
  assert.equal(await page.locator('th:has([data-testid=sort-pid])').getAttribute('aria-sort'), 'ascending');
  await page.getByTestId('sort-pid').click();
  assert.equal(await page.locator('th:has([data-testid=sort-pid])').getAttribute('aria-sort'), 'descending');
});

step('04-managed-start', async () => {
  const { page } = state;
  await page.getByTestId('nav-managed').click();
  await page.getByTestId('managed-name').fill(MANAGED);
  await page.getByTestId('managed-command').fill(TICKER);
  await page.getByTestId('managed-submit').click();
  const row = page.locator(`[data-testid=managed-row][data-name="${MANAGED}"]`);
  await row.waitFor();
  await waitFor('the managed process to run', async () =>
    (await row.getByTestId('managed-state').textContent()).trim() === 'running');
  await page.getByTestId('toast').filter({ hasText: `started ${MANAGED}` }).first().waitFor();
  const { processes } = await rawCall('managed:list', {});
  const mine = processes.find((p) => p.name === MANAGED);
  assert.ok(mine && mine.pid > 0, 'the daemon lists the started process');
  state.managedPid = mine.pid;
  assert.equal((await row.locator('td').nth(2).textContent()).trim(), String(mine.pid), 'the row shows its pid');
});

step('05-managed-logs', async () => {
  const { page } = state;
  const row = page.locator(`[data-testid=managed-row][data-name="${MANAGED}"]`);
  await row.getByTestId('managed-logs').click();
  await page.getByTestId('logs-panel').waitFor();
  assert.match(await page.getByTestId('logs-title').textContent(), new RegExp(MANAGED));
  // Live: more ticks keep coming.
  const ticks = async () => ((await page.getByTestId('logs-output').textContent()).match(/tick/g) || []).length;
  const first = await waitFor('tick in the logs', ticks);
  await waitFor('new ticks', async () => (await ticks()) > first + 2);
  await shot('05-managed-logs-live');
  // Closing the panel leaves the log stream; the process keeps running.
  await page.getByTestId('logs-close').click();
  assert.ok(await page.getByTestId('logs-panel').isHidden());
  await sleep(1000);
  const { processes } = await rawCall('managed:list', {});
  const mine = processes.find((p) => p.name === MANAGED);
  assert.ok(mine, 'the managed process is listed');
  assert.equal(mine.state, 'running', 'closing the logs does not stop the process');
});

step('05b-managed-sparklines', async () => {
  const { page } = state;
  const row = page.locator(`[data-testid=managed-row][data-name="${MANAGED}"]`);
  const cpu = row.getByTestId('spark-cpu');
  const mem = row.getByTestId('spark-mem');
  // One point per listing (every 2 s): a few listings draw a line.
  await waitFor('sparklines with 3 points', async () =>
    Number(await cpu.getAttribute('data-points')) >= 3 && Number(await mem.getAttribute('data-points')) >= 3, 20_000);
  const points = (await mem.locator('polyline').getAttribute('points')).trim().split(/\s+/);
  assert.ok(points.length >= 3, `a polyline of the history: ${points}`);
  // The last memory point is the process's resident memory, as /proc says (it moves a little).
  const status = fs.readFileSync(`/proc/${state.managedPid}/status`, 'utf8');
  const rss = Number(/VmRSS:\s+(\d+)/.exec(status)[1]) * 1024;
  const last = Number(await mem.getAttribute('data-last'));
  assert.ok(Math.abs(last - rss) < rss * 0.25, `sparkline ${last} vs /proc ${rss}`);
  const lastCpu = Number(await cpu.getAttribute('data-last'));
  assert.ok(lastCpu >= 0 && lastCpu <= 100, `cpu ${lastCpu}`);
  await shot('05b-managed-sparklines');
});

replicaSteps({ step, state, rawCall, waitFor });

step('06-kill-own-process', async () => {
  const { page } = state;
  const pid = state.owned.pid;
  await page.getByTestId('nav-processes').click();
  await page.getByTestId('proc-filter').fill(MARKER);
  const row = page.locator(`[data-testid=proc-row][data-pid="${pid}"]`);
  await row.waitFor();
  await row.getByTestId('proc-kill').click();
  const dialog = page.getByTestId('dialog');
  await dialog.waitFor();
  const message = (await page.getByTestId('dialog-message').textContent()).trim();
  assert.match(message, new RegExp(`^Kill pid ${pid} \\(python[0-9.]*\\)\\?$`));
  await shot('06-kill-dialog');
  // Cancel first: nothing happens.
  await page.getByTestId('dialog-cancel').click();
  assert.ok(await dialog.isHidden());
  await sleep(300);
  assert.ok(alive(pid), 'cancel kills nothing');
  // Then for real.
  const ticks = startTicks(pid);
  await row.getByTestId('proc-kill').click();
  await page.getByTestId('dialog-confirm').click();
  await page.getByTestId('toast').first().waitFor();
  assert.equal(await page.getByTestId('toast-error').count(), 0, 'no error toast');
  const kill = state.sent.find((frame) => frame.includes('"process:kill"'));
  assert.ok(kill, 'the page sent process:kill');
  assert.ok(kill.includes(`"expectedStartTicks":${ticks}`), `the kill names the row's start_ticks ${ticks}: ${kill}`);
  await Promise.race([
    state.ownedExit,
    sleep(10_000).then(() => {
      throw new Error('the test process is still alive 10 s after the kill');
    }),
  ]);
  assert.equal(alive(pid), false, `process.kill(${pid}, 0) still finds it`);
  await waitFor('its row to disappear', async () => (await row.count()) === 0);
});

step('07-kill-by-port', async () => {
  const { page } = state;
  const { pid } = state.listener;
  const port = state.listenerPort;
  await page.getByTestId('nav-ports').click();
  const row = page.locator(`[data-testid=port-row][data-port="${port}"]`);
  await row.waitFor();
  assert.match(await row.textContent(), new RegExp(`python[0-9.]* \\(${pid}\\)`), 'the row names the holder');
  await row.getByTestId('port-kill').click();
  const message = (await page.getByTestId('dialog-message').textContent()).trim();
  assert.match(message, new RegExp(`^Kill port ${port} \\(python[0-9.]*, pid ${pid}\\)\\?$`));
  await shot('07-kill-by-port-dialog');
  await page.getByTestId('dialog-confirm').click();
  await Promise.race([
    state.listenerExit,
    sleep(10_000).then(() => {
      throw new Error('the listener is still alive 10 s after the kill by port');
    }),
  ]);
  assert.equal(alive(pid), false);
  const toast = await waitFor('the outcome', async () => {
    const texts = await page.getByTestId('toasts').locator('.toast-text').allTextContents();
    return texts.find((text) => text.includes(String(port)) || text.includes(String(pid)));
  });
  assert.ok(toast);
  assert.equal(await page.getByTestId('toast-error').count(), 0, 'no error toast');
  await waitFor('its row to disappear', async () => (await row.count()) === 0);
});

step('08-terminal', async () => {
  const { page } = state;
  await page.getByTestId('nav-terminal').click();
  await page.getByTestId('term-new').click();
  await waitFor('the terminal to run', async () => /^running/.test(await page.getByTestId('term-status').textContent()));
  await page.locator('[data-testid=term-container] .xterm').waitFor();
  // Wait for the shell (its prompt) before typing.
  await waitFor('a prompt', async () => (await terminalRows(page)).some((row) => row.length > 0));
  await runInTerminal(page, () => 'echo hello', (rows) => rows.includes('hello'));
});

step('09-narrow-layout', async () => {
  const { page } = state;
  await page.setViewportSize({ width: 400, height: 800 });
  await sleep(400);
  // The terminal follows the new size (FitAddon, terminal:resize): the shell sees it.
  // The resize reaches the shell asynchronously (FitAddon, then terminal:resize): ask
  // until it sees the narrow size. Each answer carries its attempt's marker, so an
  // earlier answer (or the echoed command line) is never taken for it.
  const size = await runInTerminal(
    page,
    (attempt) => `echo "size${attempt}:$(stty size)"`,
    (rows, attempt) => {
      const answer = rows.map((row) => row.match(new RegExp(`^size${attempt}:(\\d+) (\\d+)$`))).find(Boolean);
      return answer && Number(answer[2]) < 60 && [Number(answer[1]), Number(answer[2])];
    },
  );
  assert.ok(size[1] < 60, `the terminal narrowed to ${size[1]} columns`);
  await shot('09-narrow-terminal');

  for (const view of ['overview', 'processes', 'managed', 'ports']) {
    await page.getByTestId(`nav-${view}`).click();
    await page.getByTestId(`view-${view}`).waitFor();
    assert.ok(await page.getByTestId('nav').isVisible(), 'the nav is visible');
    const box = await page.getByTestId('nav').boundingBox();
    assert.ok(box && box.width <= 400 && box.x >= 0, 'the nav fits the width');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(overflow <= 400, `the page scrolls sideways in ${view} (${overflow}px wide)`);
    if (view === 'ports') {
      await page.getByTestId('ports-count').filter({ hasText: /sockets/ }).waitFor();
      // The daemon's own listener is in the table.
      const port = state.address.split(':')[1];
      await page.locator(`[data-testid=port-row][data-port="${port}"]`).first().waitFor();
    }
    if (view === 'processes') {
      await page.getByTestId('proc-filter').fill('');
      await page.locator('[data-testid=proc-row]').nth(3).waitFor();
      await assertInside(page, '[data-testid=proc-kill]', '#view-processes .table-wrap', 'the Kill buttons');
    }
    if (view === 'managed') {
      await assertInside(page, '[data-testid=managed-delete]', '#view-managed .table-wrap', 'the Delete button');
    }
    if (view === 'overview') await sleep(1200);
    await shot(`09-narrow-${view}`);
  }
  await page.setViewportSize({ width: 1280, height: 860 });
});

step('10-terminal-close', async () => {
  const { page } = state;
  await page.getByTestId('nav-terminal').click();
  await page.getByTestId('term-close').click();
  await waitFor('the terminal to end', async () => /ended/.test(await page.getByTestId('term-status').textContent()));
});

step('11-queue-open', async () => {
  const { page } = state;
  await page.getByTestId('nav-queue').click();
  await page.getByTestId('view-queue').waitFor();
  const group = page.locator('[data-testid=queue-group-row][data-name="default"]');
  await group.waitFor();
  assert.equal((await group.getByTestId('queue-group-state').textContent()).trim(), 'active');
  await page.locator('[data-testid=queue-body] tr.empty').filter({ hasText: 'No jobs' }).waitFor();
  assert.equal((await page.getByTestId('queue-chip-all').textContent()).trim(), 'All 0');
  assert.equal(await page.getByTestId('queue-group').inputValue(), 'default', 'the form offers the default group');
  // Pause and resume the group from its row.
  await group.getByTestId('queue-group-pause').click();
  await waitFor('the group to be paused', async () => (await group.getByTestId('queue-group-state').textContent()).trim() === 'paused');
  assert.equal((await rawCall('queue:groups', {})).groups.find((g) => g.name === 'default').paused, true);
  await shot('11-queue-group-paused');
  await group.getByTestId('queue-group-resume').click();
  await waitFor('the group to be active', async () => (await group.getByTestId('queue-group-state').textContent()).trim() === 'active');
  assert.equal((await rawCall('queue:groups', {})).groups.find((g) => g.name === 'default').paused, false);
  // A refused add shows the daemon's reason and queues nothing.
  await page.getByTestId('queue-command').fill('true');
  await page.getByTestId('queue-priority').fill('5000');
  await page.getByTestId('queue-submit').click();
  await page.getByTestId('toast-error').filter({ hasText: /priority/ }).first().waitFor();
  assert.equal((await rawCall('queue:list', {})).jobs.length, 0, 'nothing queued');
  await page.getByTestId('queue-priority').fill('0');
  await page.getByTestId('queue-command').fill('');
  await page.locator('[data-testid=toast-error] .toast-close').first().click();
});

hostSteps({ step, state, waitFor, procward: PROCWARD, procwardEnv, assertInside, shot });

step('12-queue-add-running', async () => {
  const { page } = state;
  await page.getByTestId('queue-command').fill(SLEEPER_JOB);
  await page.getByTestId('queue-submit').click();
  await page.getByTestId('toast').filter({ hasText: /^queued job \d+/ }).first().waitFor();
  const row = await queueRow(page, SLEEPER_JOB);
  await waitFor('the job to run', async () => (await rowState(row)) === 'running');
  const job = await waitFor('the job\'s pid', async () => {
    const found = await jobByCommand(SLEEPER_JOB);
    return found && found.attempts.length && found.attempts[0].pid && found;
  });
  state.jobPids.push(job.attempts[0].pid);
  assert.equal(await row.getAttribute('data-id'), String(job.id));
  await waitFor('the pid in the row', async () =>
    (await row.getByTestId('queue-outcome').textContent()).includes(`pid ${job.attempts[0].pid}`));
  assert.equal((await row.getByTestId('queue-tries').textContent()).trim(), '1/3');
  assert.equal(await page.getByTestId('queue-command').inputValue(), '', 'the form is cleared');
  assert.match(await page.getByTestId('queue-chip-running').textContent(), /running 1/);
});

step('13-queue-output', async () => {
  const { page } = state;
  const row = await queueRow(page, SLEEPER_JOB);
  const id = await row.getAttribute('data-id');
  await row.getByTestId('queue-output').click();
  await page.getByTestId('job-panel').waitFor();
  assert.equal((await page.getByTestId('job-title').textContent()).trim(), `Job ${id}`);
  await waitFor('hello-queue in the output', async () => (await page.getByTestId('job-output').textContent()).includes('hello-queue'));
  await waitFor('its status', async () => (await page.getByTestId('job-status').textContent()).trim() === 'running');
  assert.match(await page.getByTestId('job-detail').textContent(), /hello-queue.*group default.*attempt 1: pid \d+/);
  assert.equal(await row.getAttribute('aria-selected'), 'true', 'the row is marked selected');
});

step('14-queue-cancel', async () => {
  const { page } = state;
  const row = await queueRow(page, SLEEPER_JOB);
  const id = await row.getAttribute('data-id');
  const pid = state.jobPids[0];
  await row.getByTestId('queue-cancel').click();
  await page.getByTestId('dialog').waitFor();
  const message = (await page.getByTestId('dialog-message').textContent()).trim();
  assert.equal(message, `Cancel job ${id} (${SLEEPER_JOB})? Its processes get SIGTERM, then SIGKILL after 5 s.`);
  await shot('14-queue-cancel-dialog');
  // Cancel the dialog first: the job goes on.
  await page.getByTestId('dialog-cancel').click();
  assert.ok(await page.getByTestId('dialog').isHidden());
  await sleep(300);
  assert.equal(await rowState(row), 'running', 'dismissing the dialog cancels nothing');
  assert.ok(groupMembers(pid).length > 0, 'the job still runs');
  // Then for real.
  await row.getByTestId('queue-cancel').click();
  await page.getByTestId('dialog-confirm').click();
  await page.getByTestId('toast').filter({ hasText: `job ${id} cancelled` }).first().waitFor();
  await waitFor('the row to show cancelled', async () => (await rowState(row)) === 'cancelled');
  await waitFor('the panel to show cancelled', async () => /^cancelled/.test(await page.getByTestId('job-status').textContent()));
  await waitFor('the outcome', async () => /SIGTERM|exit 143/.test(await row.getByTestId('queue-outcome').textContent()));
  await waitFor('the job\'s processes to end', () => groupMembers(pid).length === 0, 10_000);
  assert.ok(await row.getByTestId('queue-retry').isVisible(), 'a cancelled job can be retried');
  assert.equal(await row.getByTestId('queue-cancel').count(), 0, 'and no longer cancelled');
  assert.equal(await page.getByTestId('toast-error').count(), 0, 'no error toast');
});

step('15-queue-failed', async () => {
  const { page } = state;
  await page.getByTestId('queue-command').fill(FAILING_JOB);
  await page.getByTestId('queue-attempts').fill('1');
  await page.getByTestId('queue-submit').click();
  const row = await queueRow(page, FAILING_JOB);
  await waitFor('the job to fail', async () => (await rowState(row)) === 'failed');
  await waitFor('exit 3', async () => (await row.getByTestId('queue-outcome').textContent()).trim() === 'exit 3');
  assert.equal((await row.getByTestId('queue-tries').textContent()).trim(), '1/1');
  const job = await jobByCommand(FAILING_JOB);
  assert.equal(job.spec.attempts, 1);
  assert.equal(job.exit_code, 3);
  state.jobPids.push(...job.attempts.map((a) => a.pid));
  // Follow it: its session ends with the job.
  await row.click();
  await waitFor('the panel to follow it', async () =>
    (await page.getByTestId('job-title').textContent()).trim() === `Job ${job.id}`);
  await waitFor('its final status', async () => (await page.getByTestId('job-status').textContent()).trim() === 'failed (exit code 3)');
  // Switching jobs left the previous one's session.
  const previous = (await jobByCommand(SLEEPER_JOB)).id;
  assert.ok(state.sent.some((frame) => frame.includes('"session:leave"') && frame.includes(`"job:${previous}"`)),
    'session:leave for the previous job was sent');
  await page.getByTestId('queue-chip-failed').click();
  await waitFor('only failed jobs', async () => (await page.locator('[data-testid=queue-row]').count()) === 1);
  assert.match(await page.getByTestId('queue-chip-failed').textContent(), /failed 1/);
  await shot('15-queue-filter-failed');
  await page.getByTestId('queue-chip-all').click();
  await waitFor('every job', async () => (await page.locator('[data-testid=queue-row]').count()) === 2);
});

step('16-queue-retry', async () => {
  const { page } = state;
  const row = await queueRow(page, FAILING_JOB);
  const id = Number(await row.getAttribute('data-id'));
  await watchRowStates(page, id);
  // Paused, the retried job stays queued long enough to be seen.
  const group = page.locator('[data-testid=queue-group-row][data-name="default"]');
  await group.getByTestId('queue-group-pause').click();
  await waitFor('the group to be paused', async () => (await group.getByTestId('queue-group-state').textContent()).trim() === 'paused');
  await row.getByTestId('queue-retry').click();
  await page.getByTestId('toast').filter({ hasText: `job ${id} queued again` }).first().waitFor();
  await waitFor('the job to be queued', async () => (await rowState(row)) === 'queued');
  await waitFor('a new round of tries', async () => (await row.getByTestId('queue-tries').textContent()).trim() === '0/1');
  await waitFor('the panel to follow the retry', async () => (await page.getByTestId('job-status').textContent()).trim() === 'queued');
  await shot('16-queue-retry-queued');
  await group.getByTestId('queue-group-resume').click();
  await waitFor('the job to fail again', async () => (await rowState(row)) === 'failed');
  await waitFor('exit 3 again', async () => (await row.getByTestId('queue-outcome').textContent()).trim() === 'exit 3');
  await waitFor('one more try', async () => (await row.getByTestId('queue-tries').textContent()).trim() === '1/1');
  await waitFor('the panel\'s final status', async () => (await page.getByTestId('job-status').textContent()).trim() === 'failed (exit code 3)');
  const seen = await page.evaluate(() => window.__queueStates);
  assert.deepEqual(seen.filter((s, i) => i === 0 || s !== seen[i - 1]).slice(0, 2), ['failed', 'queued'], `states shown: ${seen}`);
  assert.equal(seen[seen.length - 1], 'failed');
  const job = await jobByCommand(FAILING_JOB);
  assert.equal(job.attempts.length, 2, 'the retry ran it once more');
  assert.equal(job.exit_code, 3);
  state.jobPids.push(...job.attempts.map((a) => a.pid));
});

step('17-queue-stderr', async () => {
  const { page } = state;
  await page.getByTestId('queue-command').fill(STDERR_JOB);
  await page.getByTestId('queue-attempts').fill('');
  await page.getByTestId('queue-submit').click();
  const row = await queueRow(page, STDERR_JOB);
  await waitFor('the job to complete', async () => (await rowState(row)) === 'completed');
  await waitFor('exit 0', async () => (await row.getByTestId('queue-outcome').textContent()).trim() === 'exit 0');
  await row.getByTestId('queue-output').click();
  const err = page.locator('[data-testid=job-output] .stderr');
  await err.filter({ hasText: 'queue-err' }).first().waitFor();
  const [stderrColor, outputColor] = await page.evaluate(() => [
    getComputedStyle(document.querySelector('[data-testid=job-output] .stderr')).color,
    getComputedStyle(document.querySelector('[data-testid=job-output]')).color,
  ]);
  assert.notEqual(stderrColor, outputColor, 'stderr looks different');
  await waitFor('completed', async () => (await page.getByTestId('job-status').textContent()).trim() === 'completed (exit code 0)');
});

step('18-queue-burst', async (t) => {
  const { page } = state;
  // Many job events at once: the rows follow, the page lists the jobs only now and then.
  const lists = () => state.sent.filter((frame) => frame.includes('"queue:list"')).length;
  const [listsBefore, eventsBefore] = [lists(), state.jobEvents];
  const count = 60;
  const socket = await rawClient();
  try {
    const acks = await Promise.all(Array.from({ length: count }, (_, i) =>
      socket.timeout(10_000).emitWithAck('queue:add', { command: ['true'], labels: { burst: String(i) } })));
    assert.ok(acks.every((ack) => ack.ok), 'the burst is queued');
  } finally {
    socket.disconnect();
  }
  await waitFor('every burst job to complete', async () => {
    const text = await page.getByTestId('queue-chip-completed').textContent();
    return Number(text.replace(/\D+/g, '')) >= count + 1;
  });
  await sleep(1000);
  const events = state.jobEvents - eventsBefore;
  const listed = lists() - listsBefore;
  assert.ok(events >= count * 3, `the page got the events (${events})`);
  t.diagnostic(`${events} job events, ${listed} queue:list requests`);
  assert.ok(listed <= 15, `${events} events made ${listed} lists`);
  assert.equal(await page.locator('[data-testid=queue-row][data-state=completed]').count(), count + 1);
});

step('19-queue-narrow', async () => {
  const { page } = state;
  await page.setViewportSize({ width: 400, height: 800 });
  await sleep(300);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(overflow <= 400, `the page scrolls sideways in the queue view (${overflow}px wide)`);
  await assertInside(page, '[data-testid=queue-retry]', '#view-queue .queue-jobs', 'the Retry buttons');
  await page.getByTestId('job-close').click();
  assert.ok(await page.getByTestId('job-panel').isHidden());
  await shot('19-queue-narrow-table');
  await page.setViewportSize({ width: 1280, height: 860 });
  // Nothing the queue started runs any more.
  const { jobs } = await rawCall('queue:list', {});
  assert.deepEqual(jobs.filter((job) => !['completed', 'failed', 'cancelled'].includes(job.state)).map((job) => job.id), []);
  for (const pid of state.jobPids) assert.deepEqual(groupMembers(pid), [], `job process group ${pid} is gone`);
});

step('19b-audit-view', async () => {
  const { page } = state;
  await page.getByTestId('nav-audit').click();
  // The kill of step 06, recorded by the daemon with the dashboard as the door.
  const kill = page.locator(`[data-testid=audit-row][data-action=kill]`, { hasText: `pid ${state.owned.pid}` });
  await kill.first().waitFor();
  const text = await kill.first().textContent();
  assert.match(text, /dashboard/, `the door is the dashboard: ${text}`);
  assert.match(text, /ok/, `the kill worked: ${text}`);
  const port = page.locator('[data-testid=audit-row][data-action=kill-port]', { hasText: `port ${state.listenerPort}` });
  await port.first().waitFor();
  // Read-only: the view has no buttons that act.
  assert.equal(await page.locator('#view-audit tbody button').count(), 0);
  await shot('19b-audit');
});

step('20-logout', async () => {
  const { page } = state;
  await page.getByTestId('logout').click();
  await page.getByTestId('login-form').waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem('procward.token')), null);
  // A reload stays signed out.
  await page.reload();
  await page.getByTestId('login-form').waitFor();
  assert.ok(await page.getByTestId('app').isHidden());
});

test('no console errors or page errors', () => {
  assert.deepEqual(state.consoleErrors, []);
});
