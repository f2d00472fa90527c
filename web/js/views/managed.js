// Managed processes: list (managed:list, every 2 s; sets of replicas grouped, see
// managed-rows.js), start (managed:start, from the form of managed-form.js), stop,
// restart, reload, scale, flush and delete (managed:action), and a live log panel
// (logs:join, then `output` messages of session "logs:NAME"). Each running process's CPU
// and memory over its last 30 listings are drawn as sparklines in its row.

import { confirmDialog, promptCount, report, toast } from '../ui.js';
import { OutputDecoder, PolledView, byId, describeStatus, h } from '../util.js';
import { History } from '../sparkline.js';
import {
  FormError, initProbeHints, readStartForm, resetStartForm, showFormError,
} from './managed-form.js';
import { RUNNING, managedRows } from './managed-rows.js';

const REFRESH_MS = 2000;
const LOG_LINES = 200;
const LOG_MAX_CHARS = 512 * 1024;
// Reload and scale wait for new instances to be ready.
const SLOW_ACK_MS = 120_000;

export class ManagedView extends PolledView {
  constructor(conn) {
    super(conn, REFRESH_MS);
    this.processes = [];
    this.history = new History(30);
    this.body = byId('managed-body');
    this.logs = null; // {name, sessionId, unsubscribe, decoders, chars}

    initProbeHints();
    byId('managed-form').addEventListener('submit', (event) => {
      event.preventDefault();
      this.start();
    });
    this.body.addEventListener('click', (event) => {
      const button = event.target.closest('button[data-action]');
      if (button) this.act(button.dataset.name, button.dataset.action, button);
    });
    byId('logs-close').addEventListener('click', () => this.closeLogs());
    byId('logs-clear').addEventListener('click', () => {
      byId('logs-output').replaceChildren();
      if (this.logs) this.logs.chars = 0;
    });
  }

  onConnected() {
    // A new connection is in no session: join the open log again (from its last lines).
    if (this.logs) this.openLogs(this.logs.name, false);
  }

  clear() {
    this.closeLogs(false);
    this.processes = [];
    this.history.retain(new Set());
    this.body.replaceChildren();
  }

  async refresh() {
    if (!this.conn.connected) return;
    try {
      const ack = await this.conn.call('managed:list', {});
      this.processes = Array.isArray(ack.processes) ? ack.processes : [];
      this.record();
      this.error = null;
    } catch (error) {
      this.error = error.message;
    }
    this.render();
  }

  // One history sample per running process; a stopped one's history is dropped.
  record() {
    const running = new Set();
    for (const p of this.processes) {
      if (!RUNNING.has(p.state)) continue;
      running.add(p.name);
      this.history.push(p.name, { cpu: Number(p.cpu_percent) || 0, mem: Number(p.memory_rss) || 0 });
    }
    this.history.retain(running);
  }

  render() {
    if (!this.processes.length) {
      this.body.replaceChildren(
        h('tr', { class: 'empty' },
          h('td', { colspan: 8, class: 'muted' },
            this.error ? `error: ${this.error}` : 'No managed processes. Start one above.')),
      );
      return;
    }
    this.body.replaceChildren(...managedRows(this.processes, this.history));
  }

  async start() {
    let payload;
    try {
      payload = readStartForm();
    } catch (error) {
      if (!(error instanceof FormError)) throw error;
      showFormError(error.message, error.input);
      return;
    }
    if (!payload.name || !payload.command) return;
    showFormError('');
    try {
      const ack = await this.conn.call('managed:start', payload);
      const started = (ack.processes || []).map((p) => p.name).join(', ') || payload.name;
      toast(`started ${started}${ack.process && ack.process.pid && !payload.instances ? ` (pid ${ack.process.pid})` : ''}`);
      resetStartForm();
    } catch (error) {
      // The daemon's refusal names the field; nothing was started.
      showFormError(error.message);
      toast(error.message, 'error');
    }
    this.poller.kick();
  }

  async act(name, action, button) {
    if (action === 'logs') {
      this.openLogs(name);
      return;
    }
    if (action === 'delete') {
      const ok = await confirmDialog(`Delete managed process ${name}? It is stopped and forgotten.`, 'Delete');
      if (!ok) return;
    }
    const payload = { name, action };
    if (action === 'scale') {
      const count = await promptCount(`Run ${name} as how many replicas? (1-256)`,
        { value: button && button.dataset.count ? button.dataset.count : 1 });
      if (count === null) return;
      payload.instances = count;
    }
    const slow = action === 'reload' || action === 'scale';
    const done = (ack) => {
      if (action === 'flush') return `${name}: logs emptied (${ack.bytesRemoved} bytes)`;
      if (action === 'scale') return `${name} scaled to ${payload.instances}`;
      const past = { stop: 'stopped', restart: 'restarted', delete: 'deleted', reload: 'reloaded' }[action] || action;
      return `${name} ${past}`;
    };
    if (button) button.disabled = true;
    try {
      await report(this.conn.call('managed:action', payload, slow ? SLOW_ACK_MS : undefined), done);
    } finally {
      if (button && button.isConnected) button.disabled = false;
    }
    if (action === 'delete' && this.logs && (this.logs.name === name || this.logs.name.startsWith(`${name}:`))) {
      this.closeLogs();
    }
    this.poller.kick();
  }

  async openLogs(name, leavePrevious = true) {
    this.closeLogs(leavePrevious);
    const sessionId = `logs:${name}`;
    const output = byId('logs-output');
    output.replaceChildren();
    byId('logs-panel').hidden = false;
    byId('logs-title').textContent = `Logs: ${name}`;
    const logs = { name, sessionId, decoders: {}, chars: 0, status: '' };
    logs.unsubscribe = this.conn.onSession(sessionId, (message) => this.onLogMessage(logs, message));
    this.logs = logs;
    try {
      await this.conn.call('logs:join', { name, lines: LOG_LINES });
    } catch (error) {
      if (this.logs === logs) this.appendLog(logs, `[${error.message}]\n`, 'error');
      toast(error.message, 'error');
    }
  }

  onLogMessage(logs, message) {
    if (this.logs !== logs) return;
    const data = message.data || {};
    if (message.type === 'output') {
      const stream = data.stream === 'stderr' ? 'stderr' : 'stdout';
      if (!logs.decoders[stream]) logs.decoders[stream] = new OutputDecoder();
      this.appendLog(logs, logs.decoders[stream].decode(data), stream);
    } else if (message.type === 'status') {
      byId('logs-title').textContent = `Logs: ${logs.name} (${describeStatus(data)})`;
    } else if (message.type === 'error') {
      this.appendLog(logs, `[${data.message || 'error'}]\n`, 'error');
    }
  }

  appendLog(logs, text, kind) {
    if (!text) return;
    const output = byId('logs-output');
    const follow = byId('logs-follow').checked;
    output.append(kind === 'stdout' ? document.createTextNode(text) : h('span', { class: kind }, text));
    logs.chars += text.length;
    while (logs.chars > LOG_MAX_CHARS && output.firstChild) {
      logs.chars -= output.firstChild.textContent.length;
      output.firstChild.remove();
    }
    if (follow) output.scrollTop = output.scrollHeight;
  }

  /** Closes the log panel and leaves the session (the managed process keeps running). */
  closeLogs(leave = true) {
    const logs = this.logs;
    this.logs = null;
    byId('logs-panel').hidden = true;
    if (!logs) return;
    logs.unsubscribe();
    if (leave && this.conn.connected) {
      this.conn.call('session:leave', { sessionId: logs.sessionId }).catch(() => {});
    }
  }
}
