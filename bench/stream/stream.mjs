// Throughput and latency of procward's socket.io output stream (issue 6).
//
// Usage: node bench/stream/stream.mjs --home PROCWARD_HOME [--mb 200] [--clients 50]
//        [--latency-seconds 10]
// The daemon of HOME must listen on TCP (tcp.json). Prints one JSON object:
//  - throughput: one process writes --mb MiB of text as fast as it can; MB/s of output
//    received by 1 client, and per client (and in total) with --clients clients watching;
//  - latency: a process prints its clock every 10 ms; the delay from that write to the
//    message at each of --clients clients, p50 and p99 (same machine, same clock).
import { io } from 'socket.io-client';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const home = args.home;
const MB = Number(args.mb ?? 200);
const CLIENTS = Number(args.clients ?? 50);
const LATENCY_SECONDS = Number(args['latency-seconds'] ?? 10);
const { address } = JSON.parse(readFileSync(join(home, 'tcp.json'), 'utf8'));
const token = readFileSync(join(home, 'token'), 'utf8').trim();
const url = `http://${address}`;

function connect() {
  return new Promise((resolve, reject) => {
    const s = io(url, { auth: { token }, transports: ['websocket'], reconnection: false });
    s.once('connect', () => resolve(s));
    s.once('connect_error', reject);
  });
}

/** Waits until `socket` has seen the final status of `id`, counting output bytes. */
function watch(socket, id) {
  let bytes = 0;
  let first = null;
  let last = null;
  return new Promise((resolve) => {
    socket.on('message', (m) => {
      if (m.sessionId !== id()) return;
      if (m.type === 'output') {
        const now = performance.now();
        first ??= now;
        last = now;
        bytes += m.data.encoding === 'base64' ? Buffer.from(m.data.content, 'base64').length : Buffer.byteLength(m.data.content);
      } else if (m.type === 'status' && m.data.state !== 'running') {
        resolve({ bytes, seconds: (last - first) / 1000 });
      }
    });
  });
}

async function throughput(clients) {
  const sockets = await Promise.all(Array.from({ length: clients }, connect));
  let id = null;
  const line = 'x'.repeat(1023);
  const script = `read go; yes '${line}' | head -c ${MB * 1024 * 1024}`;
  const done = sockets.map((s) => watch(s, () => id));
  const ack = await sockets[0].emitWithAck('session:create', { command: 'sh', args: ['-c', script], detached: true });
  id = ack.sessionId;
  await Promise.all(sockets.slice(1).map((s) => s.emitWithAck('session:join', { sessionId: id })));
  const started = performance.now();
  await sockets[0].emitWithAck('terminal:input', { sessionId: id, data: 'go\n' });
  const results = await Promise.all(done);
  const wall = (performance.now() - started) / 1000;
  sockets.forEach((s) => s.close());
  const perClient = results.map((r) => r.bytes / 1e6 / wall);
  return {
    clients,
    mib_written: MB,
    bytes_per_client: results.map((r) => r.bytes).reduce((a, b) => Math.min(a, b)),
    seconds: wall,
    mb_per_s_per_client_min: Math.min(...perClient),
    mb_per_s_total: results.reduce((a, r) => a + r.bytes, 0) / 1e6 / wall,
  };
}

async function latency(clients) {
  const sockets = await Promise.all(Array.from({ length: clients }, connect));
  let id = null;
  const delays = [];
  for (const s of sockets) {
    s.on('message', (m) => {
      if (m.sessionId !== id || m.type !== 'output') return;
      const now = Date.now() + (performance.timeOrigin % 1) ; // ms
      for (const ln of m.data.content.split('\n')) {
        if (ln) delays.push(Date.now() - Number(ln) / 1e6);
      }
    });
  }
  const script = `import time\nwhile True:\n    print(time.time_ns(), flush=True)\n    time.sleep(0.01)`;
  const ack = await sockets[0].emitWithAck('session:create', { command: 'python3', args: ['-c', script], detached: true });
  id = ack.sessionId;
  await Promise.all(sockets.slice(1).map((s) => s.emitWithAck('session:join', { sessionId: id })));
  delays.length = 0;
  await new Promise((r) => setTimeout(r, LATENCY_SECONDS * 1000));
  await sockets[0].emitWithAck('session:kill', { sessionId: id });
  sockets.forEach((s) => s.close());
  delays.sort((a, b) => a - b);
  const at = (q) => delays[Math.min(delays.length - 1, Math.floor(q * delays.length))];
  return { clients, samples: delays.length, p50_ms: at(0.5), p99_ms: at(0.99), max_ms: delays.at(-1) };
}

const out = {
  throughput_1: await throughput(1),
  throughput_n: await throughput(CLIENTS),
  latency_1: await latency(1),
  latency_n: await latency(CLIENTS),
};
console.log(JSON.stringify(out));
process.exit(0);
