// Overview: live CPU and memory chart (metrics:subscribe) and the machine's figures.

import { LineChart } from '../chart.js';
import { byId, formatBytes, formatDuration, formatPercent } from '../util.js';

export class OverviewView {
  constructor(conn, { onHostname } = {}) {
    this.conn = conn;
    this.onHostname = onHostname || (() => {});
    this.chart = new LineChart(byId('ov-chart'), [
      { key: 'cpu', color: '--cpu' },
      { key: 'mem', color: '--mem' },
    ]);
    this.lastSampleAt = 0;
    conn.onMetrics((info) => this.sample(info));
  }

  /** On every (re)connection: the figures now, then a sample every second. */
  async onConnected() {
    try {
      const { info } = await this.conn.call('system:info', {});
      this.render(info || {});
    } catch (error) {
      byId('ov-hostname').textContent = `(${error.message})`;
    }
    try {
      await this.conn.call('metrics:subscribe', { interval: 1.0 });
    } catch (error) {
      byId('ov-cpu').textContent = `(${error.message})`;
    }
  }

  onDown() {}

  show() {
    this.chart.draw();
  }

  hide() {}

  reset() {
    this.chart.clear();
  }

  sample(info) {
    const at = Number(info.sampled_at_ms) || Date.now();
    if (at === this.lastSampleAt) return; // the same sample twice
    this.lastSampleAt = at;
    this.chart.push({ cpu: Number(info.cpu_percent), mem: Number(info.memory_percent) });
    this.render(info);
  }

  render(info) {
    byId('ov-cpu').textContent = formatPercent(info.cpu_percent);
    byId('ov-mem').textContent = formatPercent(info.memory_percent);
    if (info.hostname) {
      byId('ov-hostname').textContent = info.hostname;
      this.onHostname(info.hostname);
    }
    if (info.uptime_seconds !== undefined) {
      byId('ov-uptime').textContent = formatDuration(info.uptime_seconds);
    }
    const load = Array.isArray(info.load_average) ? info.load_average : [];
    byId('ov-load').textContent = load.length
      ? load.map((value) => Number(value).toFixed(2)).join(' · ')
      : '–';
    if (info.cpu_count) byId('ov-cpus').textContent = String(info.cpu_count);
    if (info.memory_total) {
      byId('ov-memory').textContent =
        `${formatBytes(info.memory_used)} of ${formatBytes(info.memory_total)} (${formatPercent(info.memory_percent)})`;
    }
    if (info.disk_total) {
      byId('ov-disk').textContent =
        `${formatBytes(info.disk_used)} of ${formatBytes(info.disk_total)} (${formatPercent(info.disk_percent)}), ${formatBytes(info.disk_free)} free`;
    }
    const temps = info.temperatures && typeof info.temperatures === 'object'
      ? Object.entries(info.temperatures)
      : [];
    byId('ov-temps-card').hidden = temps.length === 0;
    if (temps.length) {
      byId('ov-temps').textContent = temps
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, value]) => `${name}: ${Number(value).toFixed(0)} °C`)
        .join(', ');
    }
  }
}
