// Audit: the newest destructive actions from audit.log (audit:list), read-only: who did
// what to which process, through which door, and with what result.

import { PolledView, byId, h } from '../util.js';

const REFRESH_MS = 5000;
const SHOWN = 200;

function target(t) {
  if (!t) return '';
  if (t.name) return t.name;
  if (t.job !== undefined) return `job ${t.job}`;
  if (t.port !== undefined) return `port ${t.port}`;
  if (t.pid !== undefined) return `pid ${t.pid}${t.start_ticks !== undefined ? ` @${t.start_ticks}` : ''}`;
  return '';
}

export class AuditView extends PolledView {
  constructor(conn) {
    super(conn, REFRESH_MS);
    this.body = byId('audit-body');
    byId('audit-refresh').addEventListener('click', () => this.poller.kick());
  }

  clear() {
    this.body.replaceChildren();
    byId('audit-count').textContent = '';
  }

  async refresh() {
    if (!this.conn.connected) return;
    let entries = [];
    try {
      const ack = await this.conn.call('audit:list', { limit: SHOWN });
      entries = Array.isArray(ack.entries) ? ack.entries.slice().reverse() : [];
      byId('audit-count').textContent = `${entries.length} entries, newest first`;
    } catch (error) {
      byId('audit-count').textContent = `error: ${error.message}`;
    }
    if (!entries.length) {
      this.body.replaceChildren(h('tr', { class: 'empty' }, h('td', { colspan: 6, class: 'muted' }, 'Nothing recorded yet.')));
      return;
    }
    this.body.replaceChildren(...entries.map((e) => h('tr', { 'data-testid': 'audit-row', 'data-action': e.action },
      h('td', { class: 'mono' }, e.time || ''),
      h('td', {}, e.interface || ''),
      h('td', { class: 'opt mono' }, e.client ? `${e.caller} (${e.client})` : (e.caller || '')),
      h('td', {}, e.action || ''),
      h('td', { class: 'mono' }, target(e.target)),
      h('td', { class: `result-${e.result}` }, e.result || '', e.message ? h('div', { class: 'muted' }, e.message) : ''))));
  }
}
