// Ports: listening TCP and bound UDP sockets with their processes (ports:list), and
// kill by port (port:kill) after confirmation.

import { confirmDialog, report } from '../ui.js';
import { PolledView, byId, h } from '../util.js';

const REFRESH_MS = 5000;

export class PortsView extends PolledView {
  constructor(conn) {
    super(conn, REFRESH_MS);
    this.ports = [];
    this.body = byId('ports-body');
    byId('ports-refresh').addEventListener('click', () => this.poller.kick());
    this.body.addEventListener('click', (event) => {
      const button = event.target.closest('button[data-port]');
      if (button) this.kill(Number(button.dataset.port));
    });
  }

  clear() {
    this.ports = [];
    this.body.replaceChildren();
    byId('ports-count').textContent = '';
  }

  async refresh() {
    if (!this.conn.connected) return;
    try {
      const ack = await this.conn.call('ports:list', {});
      this.ports = (Array.isArray(ack.ports) ? ack.ports : []).slice().sort(
        (a, b) => Number(a.port) - Number(b.port) || String(a.protocol).localeCompare(String(b.protocol)),
      );
      byId('ports-count').textContent = `${this.ports.length} sockets`;
    } catch (error) {
      byId('ports-count').textContent = `error: ${error.message}`;
    }
    this.render();
  }

  render() {
    if (!this.ports.length) {
      this.body.replaceChildren(h('tr', { class: 'empty' }, h('td', { colspan: 6, class: 'muted' }, 'No listening sockets.')));
      return;
    }
    this.body.replaceChildren(
      ...this.ports.map((port) => {
        const holders = Array.isArray(port.processes) ? port.processes : [];
        return h('tr', { 'data-testid': 'port-row', 'data-port': port.port },
          h('td', {}, port.protocol),
          h('td', { class: 'opt mono' }, port.address),
          h('td', { class: 'num' }, port.port),
          h('td', { class: 'opt' }, port.user || ''),
          h('td', {}, holders.length
            ? holders.map((p) => h('div', {}, `${p.name} `, h('span', { class: 'muted' }, `(${p.pid})`)))
            : h('span', { class: 'muted' }, 'not visible')),
          h('td', { class: 'actions' },
            h('button', {
              type: 'button', class: 'danger small', 'data-port': port.port,
              'data-testid': 'port-kill', 'aria-label': `Kill whatever holds port ${port.port}`,
            }, 'Kill')));
      }),
    );
  }

  async kill(number) {
    const holders = new Map();
    for (const port of this.ports) {
      if (Number(port.port) !== number) continue;
      for (const p of port.processes || []) holders.set(p.pid, p.name);
    }
    const who = [...holders].map(([pid, name]) => `${name}, pid ${pid}`).join('; ');
    const ok = await confirmDialog(`Kill port ${number}${who ? ` (${who})` : ''}?`, 'Kill');
    if (!ok) return;
    await report(
      this.conn.call('port:kill', { port: number }),
      (ack) => ack.message || `port ${number} freed`,
    );
    this.poller.kick();
  }
}
