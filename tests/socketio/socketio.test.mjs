// procward's socket.io endpoint, driven by the official npm client (socket.io-client 4.8)
// against a real daemon: auth, output order, base64, exit status, replay after
// reconnect, terminal input and resize, two watchers, bad input.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { io } from 'socket.io-client';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDaemon } from './daemon.mjs';

let daemon;
before(async () => { daemon = await startDaemon(); });
after(async () => { await daemon?.stop(); });

function connect(auth, options = {}) {
  return new Promise((resolve, reject) => {
    const socket = io(daemon.url, { auth, transports: ['websocket'], reconnection: false, timeout: 5000, ...options });
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (e) => { socket.close(); reject(e); });
  });
}

/**
 * Every message of one session until its final status (or the deadline). Messages are
 * kept from the moment this is called, before the session's id is known: the client may
 * handle the ack that names the session and the session's first messages in the same
 * tick (they can arrive in one read), so filtering as they arrive would lose them.
 */
function collect(socket, sessionId, until = (m) => m.type === 'status' && m.data.state !== 'running') {
  const all = [];
  const mine = () => (sessionId() === null ? [] : all.filter((m) => m.sessionId === sessionId()));
  socket.on('message', (m) => all.push(m));
  return {
    get seen() { return mine(); },
    done: new Promise((resolve, reject) => {
      const started = Date.now();
      const check = setInterval(() => {
        const seen = mine();
        const end = seen.findIndex(until);
        if (end >= 0) {
          clearInterval(check);
          resolve(seen.slice(0, end + 1));
        } else if (Date.now() - started > 15000) {
          clearInterval(check);
          reject(new Error(`timeout; saw ${JSON.stringify(seen).slice(0, 500)}`));
        }
      }, 10);
    }),
  };
}

const text = (messages) => messages
  .filter((m) => m.type === 'output')
  .map((m) => (m.data.encoding === 'base64' ? Buffer.from(m.data.content, 'base64').toString('latin1') : m.data.content))
  .join('');

test('a wrong token is refused at connect; the right one is accepted', async () => {
  await assert.rejects(connect({ token: 'wrong' }), /invalid token/);
  const socket = await connect({ token: daemon.token });
  const info = await socket.emitWithAck('system:info', {});
  assert.equal(info.ok, true);
  assert.ok(info.info.memory_total > 0);
  socket.close();
});

test('nothing but auth is served before auth, and a bad auth event disconnects', async () => {
  const socket = await connect(undefined);
  const errors = [];
  socket.on('message', (m) => { if (m.type === 'error') errors.push(m.data.message); });
  const refused = await socket.emitWithAck('session:create', { command: 'true' });
  assert.equal(refused.ok, false);
  assert.match(refused.error, /authenticate first/);
  const sessions = await (await connect({ token: daemon.token })).emitWithAck('session:list', {});
  assert.equal(sessions.sessions.length, 0, 'the refused create started nothing');
  const ok = await socket.emitWithAck('auth', { token: daemon.token });
  assert.equal(ok.ok, true);
  assert.equal((await socket.emitWithAck('session:list', {})).ok, true);
  socket.close();

  const other = await connect(undefined);
  const gone = new Promise((resolve) => other.once('disconnect', resolve));
  const bad = await other.emitWithAck('auth', { token: 'nope' });
  assert.equal(bad.ok, false);
  await gone;
  assert.ok(errors.length >= 1);
});

test("the seed's auth form: socket.emit('auth', token) with a plain string", async () => {
  const socket = await connect(undefined);
  const ok = await socket.emitWithAck('auth', daemon.token);
  assert.deepEqual(ok, { ok: true });
  assert.equal((await socket.emitWithAck('session:list', {})).ok, true);
  socket.close();

  // Fire and forget, as the seed wrote it: the next event is already authenticated.
  const quick = await connect(undefined);
  quick.emit('auth', daemon.token);
  const info = await quick.emitWithAck('system:info', {});
  assert.equal(info.ok, true, JSON.stringify(info));
  quick.close();

  const wrong = await connect(undefined);
  const gone = new Promise((resolve) => wrong.once('disconnect', resolve));
  const bad = await wrong.emitWithAck('auth', 'not-the-token');
  assert.equal(bad.ok, false);
  assert.match(bad.error, /invalid token/);
  await gone;
});

// (A foreign Host is tested with python-socketio and raw HTTP: Node's XHR drops Host.)
test('a foreign Origin is refused at the handshake (WebSocket and polling)', async () => {
  for (const transports of [['websocket'], ['polling']]) {
    await assert.rejects(
      connect({ token: daemon.token }, { transports, extraHeaders: { Origin: 'http://evil.example' } }),
      `${transports}: a foreign origin`,
    );
    const own = await connect({ token: daemon.token }, { transports, extraHeaders: { Origin: daemon.url } });
    assert.equal((await own.emitWithAck('system:info', {})).ok, true);
    own.close();
  }
});

test('output arrives in order, binary as base64, then the exit status', async () => {
  const socket = await connect({ token: daemon.token });
  let id = null;
  const c = collect(socket, () => id);
  const ack = await socket.emitWithAck('session:create', {
    command: 'sh', args: ['-c', "seq 1 5000; printf '\\377\\376'; echo err >&2; exit 7"],
  });
  assert.equal(ack.ok, true, JSON.stringify(ack));
  id = ack.sessionId;
  const messages = await c.done;
  const outputs = messages.filter((m) => m.type === 'output');
  const seqs = outputs.map((m) => m.data.seq);
  assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'seq increases');
  const stdout = text(outputs.filter((m) => m.data.stream === 'stdout'));
  const lines = Array.from({ length: 5000 }, (_, i) => `${i + 1}\n`).join('');
  assert.equal(stdout, `${lines}\xff\xfe`);
  assert.ok(outputs.some((m) => m.data.encoding === 'base64'));
  assert.equal(text(outputs.filter((m) => m.data.stream === 'stderr')), 'err\n');
  assert.ok(outputs.length < 5000, 'batched, not one message per line');
  const last = messages.at(-1);
  assert.deepEqual(last.data, { state: 'failed', exitCode: 7 });
  socket.close();
});

test('a client that reconnects gets the replay, then the live stream', async () => {
  const first = await connect({ token: daemon.token });
  const ack = await first.emitWithAck('session:create', {
    command: 'sh', args: ['-c', 'for i in 1 2 3; do echo early$i; done; read line; echo "got $line"'],
    detached: true,
  });
  const id = ack.sessionId;
  await new Promise((r) => setTimeout(r, 300));
  first.close(); // detached: the session survives its last watcher

  const second = await connect({ token: daemon.token });
  const c = collect(second, () => id);
  const joined = await second.emitWithAck('session:join', { sessionId: id });
  assert.equal(joined.ok, true);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(text(c.seen), 'early1\nearly2\nearly3\n', 'the replay came first');
  await second.emitWithAck('terminal:input', { sessionId: id, data: 'late\n' });
  const messages = await c.done;
  assert.equal(text(messages), 'early1\nearly2\nearly3\ngot late\n', 'nothing missing or repeated');
  second.close();
});

test('a terminal takes input and resizes; two watchers see the same stream', async () => {
  const a = await connect({ token: daemon.token });
  const b = await connect({ token: daemon.token });
  const ack = await a.emitWithAck('session:create', { command: 'sh', interactive: true, cols: 80, rows: 24 });
  const id = ack.sessionId;
  const join = await b.emitWithAck('session:join', { sessionId: id });
  assert.equal(join.ok, true);
  const seenA = collect(a, () => id, (m) => text([m]).includes('30 100'));
  const seenB = collect(b, () => id, (m) => text([m]).includes('30 100'));
  assert.equal((await a.emitWithAck('terminal:resize', { sessionId: id, cols: 100, rows: 30 })).ok, true);
  for (const [cols, rows] of [[0, 24], [100000, 24], [80, -1]]) {
    const bad = await a.emitWithAck('terminal:resize', { sessionId: id, cols, rows });
    assert.equal(bad.ok, false, `${cols}x${rows}`);
  }
  await a.emitWithAck('command:execute', { sessionId: id, command: 'stty size' });
  await Promise.all([seenA.done, seenB.done]);
  const done = collect(a, () => id);
  await a.emitWithAck('terminal:input', { sessionId: id, data: 'exit 0\r' });
  const end = await done.done;
  assert.equal(end.at(-1).data.state, 'completed');
  const late = await a.emitWithAck('terminal:input', { sessionId: id, data: 'x' });
  assert.equal(late.ok, false, 'input to a finished session is refused');
  a.close();
  b.close();
});

test('input sent without waiting for acks arrives in order', async () => {
  // Each event is handled in a task of its own; input must still reach the process in
  // the order it was sent (a dashboard sends one event per keystroke).
  const socket = await connect({ token: daemon.token });
  const ack = await socket.emitWithAck('session:create', { command: 'cat' });
  assert.equal(ack.ok, true, JSON.stringify(ack));
  const id = ack.sessionId;
  const c = collect(socket, () => id, (m) => m.type === 'output' && text([m]).includes('\n'));
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const sent = Array.from({ length: 2000 }, (_, i) => alphabet[i % alphabet.length]).join('');
  const acks = [...sent].map((ch) => socket.emitWithAck('terminal:input', { sessionId: id, data: ch }));
  acks.push(socket.emitWithAck('terminal:input', { sessionId: id, data: '\n' }));
  for (const answer of await Promise.all(acks)) assert.equal(answer.ok, true, JSON.stringify(answer));
  await c.done;
  assert.equal(text(c.seen), `${sent}\n`, 'every keystroke once, in order');
  await socket.emitWithAck('session:kill', { sessionId: id });
  socket.close();
});

test('malformed payloads and unknown sessions get an error and change nothing', async () => {
  const socket = await connect({ token: daemon.token });
  const before = (await socket.emitWithAck('session:list', {})).sessions.length;
  const cases = [
    ['session:create', { command: '' }],
    ['session:create', { command: 42 }],
    ['session:create', { command: 'sh', interactive: true, cols: 0 }],
    ['session:create', { command: 'sh', cwd: '/no/such/dir' }],
    ['session:create', { command: 'no-such-program-procward' }],
    ['session:join', { sessionId: 'nope' }],
    ['session:join', {}],
    ['terminal:input', { sessionId: 'nope', data: 'x' }],
    ['terminal:input', { sessionId: 'nope', data: 'x'.repeat(70000) }],
    ['process:kill', { pid: 1 }],
    ['process:kill', { pid: -1 }],
    ['metrics:subscribe', { interval: 0 }],
  ];
  for (const [event, payload] of cases) {
    const ack = await socket.emitWithAck(event, payload);
    assert.equal(ack.ok, false, `${event} ${JSON.stringify(payload).slice(0, 80)}`);
    assert.ok(ack.error.length > 0);
  }
  const after = (await socket.emitWithAck('session:list', {})).sessions.length;
  assert.equal(after, before);
  socket.close();
});

test('a running session reports its metrics every second', async () => {
  const socket = await connect({ token: daemon.token });
  let id = null;
  const metrics = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no metrics within 5 s')), 5000);
    socket.on('message', (m) => {
      if (m.sessionId === id && m.type === 'metrics') { clearTimeout(timer); resolve(m.data); }
    });
  });
  const ack = await socket.emitWithAck('session:create', { command: 'sleep', args: ['30'] });
  id = ack.sessionId;
  const data = await metrics;
  assert.ok(data.memory_rss > 0, JSON.stringify(data));
  assert.ok(data.handles >= 3);
  for (const key of ['cpu_percent', 'read_bytes', 'write_bytes', 'user_time', 'system_time']) {
    assert.equal(typeof data[key], 'number', key);
  }
  assert.equal((await socket.emitWithAck('session:kill', { sessionId: id })).ok, true);
  socket.close();
});

test('session metrics match /proc for a process with known files and I/O', async () => {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'pw-metrics-'));
  const fixture = new URL('../fixtures/metrics_child.py', import.meta.url).pathname;
  const socket = await connect({ token: daemon.token });
  let id = null;
  const seen = [];
  socket.on('message', (m) => {
    if (m.sessionId === id && m.type === 'metrics') seen.push(m.data);
  });
  const ack = await socket.emitWithAck('session:create', {
    command: '/usr/bin/python3', args: [fixture, folder, '11', '150000'],
  });
  assert.equal(ack.ok, true, JSON.stringify(ack));
  id = ack.sessionId;
  const ready = path.join(folder, 'ready');
  const deadline = Date.now() + 20000;
  while (!fs.existsSync(ready)) {
    assert.ok(Date.now() < deadline, 'the child never got ready');
    await new Promise((r) => setTimeout(r, 50));
  }
  const pid = Number(fs.readFileSync(ready, 'utf8'));
  assert.equal(pid, ack.pid);
  // A message measured after the child got ready: its files and bytes are all there.
  const count = seen.length;
  while (seen.length < count + 2) {
    assert.ok(Date.now() < deadline + 5000, 'no metrics messages');
    await new Promise((r) => setTimeout(r, 50));
  }
  const data = seen[seen.length - 1];
  const io = Object.fromEntries(fs.readFileSync(`/proc/${pid}/io`, 'utf8').trim().split('\n')
    .map((line) => line.split(': ')).map(([k, v]) => [k, Number(v)]));
  assert.equal(data.open_fds, fs.readdirSync(`/proc/${pid}/fd`).length, JSON.stringify(data));
  assert.ok(data.open_fds >= 14);
  assert.equal(data.io_wchar, io.wchar);
  assert.equal(data.io_rchar, io.rchar);
  assert.equal(data.io_write_bytes, io.write_bytes);
  assert.ok(data.io_write_bytes >= 150000 && data.io_wchar >= 150000);
  assert.equal(data.threads, 2);
  assert.ok(data.cpu_user_ms > 100, 'the burning thread used CPU');
  assert.ok(data.cpu_percent > 30, `one busy thread: ${data.cpu_percent}`);
  assert.equal(data.tree.processes, 3, JSON.stringify(data.tree));
  assert.equal(data.tree.threads, 4);
  assert.equal(data.handles, data.open_fds, 'the older name stays');
  assert.equal((await socket.emitWithAck('session:kill', { sessionId: id })).ok, true);
  socket.close();
  fs.rmSync(folder, { recursive: true, force: true });
});
