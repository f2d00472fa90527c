// Small helpers shared by the views: DOM building, formatting, decoding.

/** Returns the element with this id (throws when the page lacks it). */
export function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`missing element #${id}`);
  return node;
}

/**
 * Creates an element: h('td', {class: 'num', dataset: {pid: 1}}, 'text', child).
 * Attributes starting with "on" are event listeners; text is always set as text.
 */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') {
      node.addEventListener(key.slice(2), value);
    } else if (key === 'text') node.textContent = value;
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** 1536 -> "1.5 KiB". */
export function formatBytes(bytes) {
  let value = Number(bytes) || 0;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${value.toFixed(digits)} ${UNITS[unit]}`;
}

/** 12.345 -> "12.3%". */
export function formatPercent(value, digits = 1) {
  const number = Number(value);
  return Number.isFinite(number) ? `${number.toFixed(digits)}%` : '–';
}

/** ["sh", "-c", "echo hi"] -> "sh -c 'echo hi'" (for display). */
export function shellJoin(argv) {
  return argv
    .map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${String(arg).replace(/'/g, "'\\''")}'`))
    .join(' ');
}

/** A spec's command as typed: the daemon runs a command string as `/bin/sh -c STRING`. */
export function commandText(spec) {
  const argv = spec && Array.isArray(spec.command) ? spec.command : [];
  if (argv.length === 3 && argv[0] === '/bin/sh' && argv[1] === '-c') return argv[2];
  return shellJoin(argv);
}

/** Seconds -> "3d 4h", "2h 5m", "4m 10s", "12s". */
export function formatDuration(seconds) {
  let s = Math.max(0, Math.floor(Number(seconds) || 0));
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const hours = Math.floor(s / 3600);
  s -= hours * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (d > 0) return `${d}d ${hours}h`;
  if (hours > 0) return `${hours}h ${m}m`;
  if (m > 0) return `${m}m ${s}s`;
  return `${s}s`;
}

/** Base64 -> bytes. */
export function base64ToBytes(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/**
 * Turns the `data` of `output` messages into text, keeping multi-byte characters that
 * straddle two base64 batches intact. One decoder per stream.
 */
export class OutputDecoder {
  constructor() {
    this.decoder = new TextDecoder('utf-8');
  }

  decode(data) {
    if (!data || typeof data.content !== 'string') return '';
    if (data.encoding === 'base64') {
      return this.decoder.decode(base64ToBytes(data.content), { stream: true });
    }
    // A utf8 batch ends any pending partial character.
    return this.decoder.decode() + data.content;
  }
}

/** Describes a `status` message's data: "running", "exited with code 0", ... */
export function describeStatus(data) {
  if (!data) return 'unknown';
  if (data.state === 'running') return 'running';
  if (data.state === 'paused') return 'paused';
  const parts = [];
  if (data.signal !== undefined && data.signal !== null && data.signal !== '') {
    parts.push(`killed by ${data.signal}`);
  }
  if (data.exitCode !== undefined && data.exitCode !== null) {
    parts.push(`exited with code ${data.exitCode}`);
  }
  const how = parts.length ? parts.join(', ') : data.state;
  return data.state === 'failed' ? `failed: ${how}` : how;
}

/** Calls fn at most once per `ms`, with the latest arguments (trailing edge). */
export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

/**
 * Runs `task` now and then every `ms` while started, never two at once (a slow answer
 * delays the next run instead of piling up requests).
 */
export class Poller {
  constructor(task, ms) {
    this.task = task;
    this.ms = ms;
    this.timer = null;
    this.running = false;
    this.active = false;
  }

  start() {
    this.active = true;
    this.kick();
  }

  stop() {
    this.active = false;
    clearTimeout(this.timer);
    this.timer = null;
  }

  /** Runs the task now (or right after the running one), then on schedule. */
  async kick() {
    if (!this.active) return;
    clearTimeout(this.timer);
    this.timer = null;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    try {
      await this.task();
    } catch (error) {
      console.warn(error);
    } finally {
      this.running = false;
    }
    if (!this.active) return;
    if (this.again) {
      this.again = false;
      this.kick();
    } else {
      this.timer = setTimeout(() => this.kick(), this.ms);
    }
  }
}

/**
 * A view whose table is refreshed on a timer while it is shown: `refresh()` is the
 * subclass's, `clear()` empties it when the user logs out.
 */
export class PolledView {
  constructor(conn, refreshMs) {
    this.conn = conn;
    this.poller = new Poller(() => this.refresh(), refreshMs);
  }

  onConnected() {}

  onDown() {}

  show() {
    this.poller.start();
  }

  hide() {
    this.poller.stop();
  }

  reset() {
    this.poller.stop();
    this.clear();
  }
}
