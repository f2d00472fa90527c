// Processes: every OS process, refreshed every 2 s (processes:list), sortable,
// filterable, with a Kill button per row (process:kill with the row's start_ticks, the
// exact identity, and start_time, so a recycled pid is refused).

import { confirmDialog, report } from '../ui.js';
import { PolledView, byId, debounce, formatBytes, formatDuration, h } from '../util.js';

const REFRESH_MS = 2000;
const SHOWN_MAX = 500;

// Column -> [compare key, default direction (1 ascending, -1 descending)].
const SORTS = {
  pid: [(p) => p.pid, 1],
  name: [(p) => (p.name || '').toLowerCase(), 1],
  cpu: [(p) => Number(p.cpu_percent) || 0, -1],
  mem: [(p) => Number(p.memory_rss) || 0, -1],
  uptime: [(p) => Number(p.uptime_seconds) || 0, -1],
};

export class ProcessesView extends PolledView {
  constructor(conn) {
    super(conn, REFRESH_MS);
    this.sort = 'cpu';
    this.direction = -1;
    this.filter = '';
    this.rows = [];
    this.body = byId('proc-body');

    const filter = byId('proc-filter');
    const apply = debounce(() => {
      this.filter = filter.value.trim();
      this.poller.kick();
    }, 250);
    filter.addEventListener('input', apply);

    for (const button of document.querySelectorAll('#view-processes button.sort')) {
      button.addEventListener('click', () => {
        const key = button.dataset.sort;
        if (key === this.sort) this.direction = -this.direction;
        else {
          this.sort = key;
          this.direction = SORTS[key][1];
        }
        this.render();
      });
    }

    this.body.addEventListener('click', (event) => {
      const button = event.target.closest('button[data-kill]');
      if (button) this.kill(Number(button.dataset.kill));
    });
  }

  clear() {
    this.rows = [];
    this.body.replaceChildren();
    byId('proc-count').textContent = '';
  }

  async refresh() {
    if (!this.conn.connected) return;
    const payload = { sort: this.sort };
    if (this.filter) payload.name = this.filter;
    try {
      const ack = await this.conn.call('processes:list', payload);
      this.rows = Array.isArray(ack.processes) ? ack.processes : [];
      this.total = ack.total ?? this.rows.length;
      this.error = null;
    } catch (error) {
      this.error = error.message;
    }
    this.render();
  }

  sorted() {
    const [key] = SORTS[this.sort] || SORTS.cpu;
    const needle = this.filter.toLowerCase();
    const rows = needle
      ? this.rows.filter((p) => `${p.name} ${p.command}`.toLowerCase().includes(needle))
      : this.rows.slice();
    const dir = this.direction;
    rows.sort((a, b) => {
      const ka = key(a);
      const kb = key(b);
      if (ka < kb) return -dir;
      if (ka > kb) return dir;
      return a.pid - b.pid;
    });
    return rows;
  }

  render() {
    for (const button of document.querySelectorAll('#view-processes button.sort')) {
      const active = button.dataset.sort === this.sort;
      button.classList.toggle('active', active);
      const th = button.closest('th');
      if (active) th.setAttribute('aria-sort', this.direction > 0 ? 'ascending' : 'descending');
      else th.removeAttribute('aria-sort');
      button.dataset.arrow = active ? (this.direction > 0 ? '▲' : '▼') : '';
    }
    const rows = this.sorted();
    const shown = rows.slice(0, SHOWN_MAX);
    if (!shown.length) {
      const why = this.error ? `error: ${this.error}` : this.filter ? 'No process matches the filter.' : 'Loading…';
      this.body.replaceChildren(h('tr', { class: 'empty' }, h('td', { colspan: 7, class: 'muted' }, why)));
      byId('proc-count').textContent = this.error ? '' : `0 of ${this.total ?? 0}`;
      return;
    }
    this.body.replaceChildren(
      ...shown.map((p) =>
        h('tr', { 'data-testid': 'proc-row', 'data-pid': p.pid },
          h('td', { class: 'num' }, p.pid),
          h('td', { class: 'name-cell' },
            h('div', { class: 'name', 'data-testid': 'proc-name' }, p.name || '?'),
            h('div', { class: 'cmd muted', title: p.command || '' }, p.command || '')),
          h('td', { class: 'opt' }, p.user || p.uid || ''),
          h('td', { class: 'num' }, (Number(p.cpu_percent) || 0).toFixed(1)),
          h('td', { class: 'num' }, formatBytes(p.memory_rss)),
          h('td', { class: 'num opt' }, formatDuration(p.uptime_seconds)),
          h('td', { class: 'actions' },
            h('button', {
              type: 'button', class: 'danger small', 'data-kill': p.pid,
              'data-testid': 'proc-kill', 'aria-label': `Kill ${p.name} (pid ${p.pid})`,
            }, 'Kill')))),
    );
    let count = `${rows.length} shown`;
    if (this.total !== undefined) count = `${Math.min(rows.length, SHOWN_MAX)} of ${this.total}`;
    byId('proc-count').textContent = this.error ? `error: ${this.error}` : count;
  }

  async kill(pid) {
    const row = this.rows.find((p) => p.pid === pid);
    if (!row) return;
    const ok = await confirmDialog(`Kill pid ${row.pid} (${row.name})?`, 'Kill');
    if (!ok) return;
    const payload = { pid: row.pid };
    if (row.start_time) payload.expectedStartTime = Number(row.start_time);
    if (row.start_ticks) payload.expectedStartTicks = Number(row.start_ticks);
    await report(
      this.conn.call('process:kill', payload),
      (ack) => ack.message || `pid ${row.pid} (${row.name}) killed`,
    );
    this.poller.kick();
  }
}
