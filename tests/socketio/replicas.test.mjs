// Replicas over socket.io with the npm client: a set of 2 tiny HTTP servers (sharing one
// port with SO_REUSEPORT) with an http readiness probe, scaled to 3 then 1, reloaded;
// bad counts, exit codes, probes and replica names refused naming the field, nothing
// started.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { io } from 'socket.io-client';
import { startDaemon } from './daemon.mjs';

let daemon;
let socket;
before(async () => {
  daemon = await startDaemon();
  socket = io(daemon.url, { auth: { token: daemon.token }, transports: ['websocket'], reconnection: false });
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
});
after(async () => {
  socket?.close();
  await daemon?.stop();
});

const call = (event, payload) => socket.emitWithAck(event, payload);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** A python3 HTTP server on 127.0.0.1:PORT that shares the port with its replicas. */
const server = (port) => `python3 -c "import http.server as h, socket
class S(h.ThreadingHTTPServer):
    def server_bind(self):
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        super().server_bind()
S(('127.0.0.1', ${port}), h.SimpleHTTPRequestHandler).serve_forever()"`;

async function listing() {
  const ack = await call('managed:list', {});
  return Object.fromEntries(ack.processes.map((p) => [p.name, p]));
}

/** The listing once exactly `names` are registered, running and ready. */
async function settled(names) {
  const deadline = Date.now() + 20000;
  for (;;) {
    const processes = await listing();
    const ok = JSON.stringify(Object.keys(processes).sort()) === JSON.stringify([...names].sort())
      && Object.values(processes).every((p) => p.state === 'running' && p.pid && p.readiness === 'healthy');
    if (ok) return processes;
    if (Date.now() > deadline) throw new Error(`wanted ${names} running and ready, got ${JSON.stringify(processes)}`);
    await sleep(100);
  }
}

test('a set of 2 HTTP servers with a readiness probe starts, scales to 3 then 1, reloads', async () => {
  const port = await freePort();
  const readiness = { http: `http://127.0.0.1:${port}/`, intervalMs: 200, timeoutMs: 1000 };
  const started = await call('managed:start', {
    name: 'web', command: server(port), instances: 2, readiness, successExitCodes: [3],
  });
  assert.equal(started.ok, true, JSON.stringify(started));
  assert.deepEqual(started.processes.map((p) => p.name), ['web:0', 'web:1']);
  assert.equal(started.process.spec.instances, 2);
  assert.deepEqual(started.process.spec.success_exit_codes, [3]);
  const two = await settled(['web:0', 'web:1']);
  assert.notEqual(two['web:0'].pid, two['web:1'].pid);
  assert.equal((await fetch(`http://127.0.0.1:${port}/`)).status, 200);

  const three = await call('managed:action', { name: 'web', action: 'scale', instances: 3 });
  assert.equal(three.ok, true, JSON.stringify(three));
  assert.deepEqual(three.processes.map((p) => p.name), ['web:0', 'web:1', 'web:2']);
  await settled(['web:0', 'web:1', 'web:2']);

  const one = await call('managed:action', { name: 'web', action: 'scale', instances: 1 });
  assert.equal(one.ok, true, JSON.stringify(one));
  assert.deepEqual(one.processes.map((p) => p.name), ['web:0']);
  const before = (await settled(['web:0']))['web:0'].pid;

  const reloaded = await call('managed:action', { name: 'web', action: 'reload' });
  assert.equal(reloaded.ok, true, JSON.stringify(reloaded));
  assert.deepEqual(reloaded.processes.map((p) => p.name), ['web:0']);
  const after = (await settled(['web:0']))['web:0'].pid;
  assert.notEqual(after, before, 'reload ran a new instance');
  assert.equal((await fetch(`http://127.0.0.1:${port}/`)).status, 200);

  const audit = (await call('audit:list', {})).entries
    .filter((e) => e.interface === 'socketio')
    .map((e) => `${e.action} ${e.target.name} ${e.result}`);
  assert.ok(audit.includes('scale web ok') && audit.includes('reload web ok'), audit.join('\n'));
  assert.equal((await call('managed:action', { name: 'web', action: 'delete' })).ok, true);
  assert.deepEqual(await listing(), {});
});

test('bad sets are refused naming the field, and nothing starts', async () => {
  const cases = [
    [{ instances: 0 }, /instances/],
    [{ instances: 300 }, /instances/],
    [{ successExitCodes: [256] }, /successExitCodes/],
    [{ readiness: { intervalMs: 100 } }, /^readiness: give exactly one probe/],
    [{ readiness: { tcp: '127.0.0.1:0' } }, /readiness/],
    [{ name: 'web:0', instances: 2 }, /':' is reserved/],
  ];
  for (const [extra, words] of cases) {
    const ack = await call('managed:start', { name: 'bad', command: 'sleep 60', ...extra });
    assert.equal(ack.ok, false, JSON.stringify(extra));
    assert.match(ack.error, words);
    assert.deepEqual(await listing(), {}, `${JSON.stringify(extra)} started nothing`);
  }
  const scale = await call('managed:action', { name: 'bad', action: 'scale', instances: 2 });
  assert.equal(scale.ok, false);
  assert.match(scale.error, /bad/);
});
