// Managed processes: list (managed:list, every 2 s), start (managed:start), stop,
// restart and delete (managed:action), and a live log panel (logs:join, then `output`
// messages of session "logs:NAME"). Each running process's CPU and memory over its
// last 30 listings are drawn as sparklines in its row.

import { confirmDialog, report, toast } from '../ui.js';
import {
  OutputDecoder, PolledView, byId, commandText, describeStatus, formatBytes, formatDuration, h,
} from '../util.js';
import { History, sparkline } from '../sparkline.js';

const REFRESH_MS = 2000;
const LOG_LINES = 200;
const LOG_MAX_CHARS = 512 * 1024;

const RUNNING = new Set(['running', 'starting', 'paused', 'stopping']);

export class ManagedView extends PolledView {
  constructor(conn) {
    super(conn, REFRESH_MS);
    this.processes = [];
    this.history = new History(30);
    this.body = byId('managed-body');
    this.logs = null; // {name, sessionId, unsubscribe, decoders, chars}

    byId('managed-form').addEventListener('submit', (event) => {
      event.preventDefault();
      this.start();
    });
    this.body.addEventListener('click', (event) => {
      const button = event.target.closest('button[data-action]');
      if (button) this.act(button.dataset.name, button.dataset.action);
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
      this.processes = (Array.isArray(ack.processes) ? ack.processes : [])
        .slice()
        .sort((a, b) => a.name.localeCompare(b.name));
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
    this.body.replaceChildren(
      ...this.processes.map((p) => {
        const running = RUNNING.has(p.state);
        const uptime = running && Number(p.uptime_ms) ? formatDuration(Number(p.uptime_ms) / 1000) : '';
        const detail = [p.reason, p.health && `health: ${p.health}`].filter(Boolean).join(' · ');
        const button = (action, label, attrs = {}) =>
          h('button', {
            type: 'button', class: 'small', 'data-action': action, 'data-name': p.name,
            'data-testid': `managed-${action}`, 'aria-label': `${label} ${p.name}`, ...attrs,
          }, label);
        return h('tr', { 'data-testid': 'managed-row', 'data-name': p.name },
          h('td', { class: 'name-cell' },
            h('div', { class: 'name' }, p.name),
            h('div', { class: 'cmd muted' }, commandText(p.spec))),
          h('td', {},
            h('span', { class: `state state-${p.state}`, 'data-testid': 'managed-state' }, p.state),
            detail ? h('div', { class: 'muted small-text' }, detail) : null),
          h('td', { class: 'num opt' }, Number(p.pid) ? p.pid : ''),
          h('td', { class: 'num opt' }, p.restarts ?? 0),
          h('td', { class: 'num opt' }, uptime),
          h('td', { class: 'num opt spark-cell' }, running ? (Number(p.cpu_percent) || 0).toFixed(1) : '',
            running ? sparkline(this.history.values(p.name, 'cpu'),
              { label: `CPU history of ${p.name}`, testid: 'spark-cpu', max: 100 }) : null),
          h('td', { class: 'num opt spark-cell' }, running ? formatBytes(p.memory_rss) : '',
            running ? sparkline(this.history.values(p.name, 'mem'),
              { label: `memory history of ${p.name}`, testid: 'spark-mem' }) : null),
          h('td', { class: 'actions' },
            button('logs', 'Logs'),
            button('stop', 'Stop', { disabled: !running }),
            button('restart', running ? 'Restart' : 'Start'),
            button('delete', 'Delete', { class: 'small danger' })));
      }),
    );
  }

  async start() {
    const name = byId('managed-name').value.trim();
    const command = byId('managed-command').value.trim();
    if (!name || !command) return;
    const ack = await report(
      this.conn.call('managed:start', { name, command }),
      (result) => `started ${name}${result.process && result.process.pid ? ` (pid ${result.process.pid})` : ''}`,
    );
    if (ack) {
      byId('managed-name').value = '';
      byId('managed-command').value = '';
    }
    this.poller.kick();
  }

  async act(name, action) {
    if (action === 'logs') {
      this.openLogs(name);
      return;
    }
    if (action === 'delete') {
      const ok = await confirmDialog(`Delete managed process ${name}? It is stopped and forgotten.`, 'Delete');
      if (!ok) return;
    }
    const past = { stop: 'stopped', restart: 'restarted', delete: 'deleted' }[action] || action;
    await report(this.conn.call('managed:action', { name, action }), () => `${name} ${past}`);
    if (action === 'delete' && this.logs && this.logs.name === name) this.closeLogs();
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
