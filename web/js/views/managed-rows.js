// The rows of the managed processes table: a plain process is one row; a set of
// replicas (`web:0`, `web:1`, ... of the set `web`) is a heading row with the set's
// actions (stop, restart, reload, scale, delete every replica), then one row per
// replica, by index. Each process shows its health and readiness verdicts.

import { commandText, formatBytes, formatDuration, h } from '../util.js';
import { sparkline } from '../sparkline.js';

export const RUNNING = new Set(['running', 'starting', 'paused', 'stopping']);
const REPLICA = /^(.+):(\d{1,3})$/;

/** `web:2` -> {base: "web", index: 2}; null for a plain name. */
export function replicaOf(name) {
  const match = REPLICA.exec(name);
  return match ? { base: match[1], index: Number(match[2]) } : null;
}

/**
 * The listing grouped: `{process}` for a plain process, `{set, replicas}` for a set,
 * sorted by name, replicas by index.
 */
export function groupSets(processes) {
  const sets = new Map();
  const entries = [];
  for (const p of processes) {
    const replica = replicaOf(p.name);
    if (!replica) {
      entries.push({ key: p.name, process: p });
      continue;
    }
    if (!sets.has(replica.base)) {
      const entry = { key: replica.base, set: replica.base, replicas: [] };
      sets.set(replica.base, entry);
      entries.push(entry);
    }
    sets.get(replica.base).replicas.push({ ...p, index: replica.index });
  }
  for (const entry of sets.values()) entry.replicas.sort((a, b) => a.index - b.index);
  return entries.sort((a, b) => a.key.localeCompare(b.key));
}

function button(name, action, label, attrs = {}) {
  return h('button', {
    type: 'button', class: 'small', 'data-action': action, 'data-name': name,
    'data-testid': `managed-${action}`, 'aria-label': `${label} ${name}`, ...attrs,
  }, label);
}

const READINESS = { healthy: 'ready', unhealthy: 'not ready', starting: 'getting ready' };

/** The health and readiness verdicts of one process, when it has those checks. */
function checks(p) {
  return [
    p.health ? h('span', { class: `check-state check-${p.health}`, 'data-testid': 'managed-health' },
      `health: ${p.health}`) : null,
    p.readiness ? h('span', { class: `check-state check-${p.readiness}`, 'data-testid': 'managed-readiness' },
      READINESS[p.readiness] || `readiness: ${p.readiness}`) : null,
  ];
}

/** One process's row (a plain process, or a replica under its set's row). */
function processRow(p, history, replica) {
  const running = RUNNING.has(p.state);
  const uptime = running && Number(p.uptime_ms) ? formatDuration(Number(p.uptime_ms) / 1000) : '';
  return h('tr', {
    'data-testid': 'managed-row', 'data-name': p.name, 'data-state': p.state,
    class: replica ? 'replica-row' : null, 'data-set': replica ? replica.base : null,
  },
  h('td', { class: 'name-cell' },
    h('div', { class: 'name' }, p.name),
    replica ? null : h('div', { class: 'cmd muted' }, commandText(p.spec))),
  h('td', {},
    h('span', { class: `state state-${p.state}`, 'data-testid': 'managed-state' }, p.state),
    ...checks(p),
    p.reason ? h('div', { class: 'muted small-text' }, p.reason) : null),
  h('td', { class: 'num opt' }, Number(p.pid) ? p.pid : ''),
  h('td', { class: 'num opt' }, p.restarts ?? 0),
  h('td', { class: 'num opt' }, uptime),
  h('td', { class: 'num opt spark-cell' }, running ? (Number(p.cpu_percent) || 0).toFixed(1) : '',
    running ? sparkline(history.values(p.name, 'cpu'),
      { label: `CPU history of ${p.name}`, testid: 'spark-cpu', max: 100 }) : null),
  h('td', { class: 'num opt spark-cell' }, running ? formatBytes(p.memory_rss) : '',
    running ? sparkline(history.values(p.name, 'mem'),
      { label: `memory history of ${p.name}`, testid: 'spark-mem' }) : null),
  h('td', { class: 'actions' },
    button(p.name, 'logs', 'Logs'),
    button(p.name, 'stop', 'Stop', { disabled: !running }),
    button(p.name, 'restart', running ? 'Restart' : 'Start'),
    replica ? null : button(p.name, 'reload', 'Reload', { title: 'Zero-downtime restart' }),
    replica ? null : button(p.name, 'scale', 'Scale', { title: 'Run it as N replicas' }),
    button(p.name, 'flush', 'Flush', { title: 'Empty its logs' }),
    button(p.name, 'delete', 'Delete', { class: 'small danger' })));
}

/** A set's heading row: its size, how many replicas run and are ready, its actions. */
function setRow(set, replicas) {
  const running = replicas.filter((p) => RUNNING.has(p.state));
  const ready = replicas.filter((p) => p.readiness === 'healthy').length;
  const checked = replicas.some((p) => p.readiness);
  const cpu = running.reduce((sum, p) => sum + (Number(p.cpu_percent) || 0), 0);
  const memory = running.reduce((sum, p) => sum + (Number(p.memory_rss) || 0), 0);
  const restarts = replicas.reduce((sum, p) => sum + (Number(p.restarts) || 0), 0);
  return h('tr', { class: 'set-row', 'data-testid': 'managed-set', 'data-name': set },
    h('td', { class: 'name-cell' },
      h('div', { class: 'name' }, set,
        h('span', { class: 'set-size muted', 'data-testid': 'managed-set-size' },
          `× ${replicas.length} ${replicas.length === 1 ? 'replica' : 'replicas'}`)),
      h('div', { class: 'cmd muted' }, commandText(replicas[0].spec))),
    h('td', {},
      h('span', { class: `state state-${running.length ? 'running' : 'stopped'}`, 'data-testid': 'managed-set-state' },
        `${running.length}/${replicas.length} running`),
      checked ? h('span', { class: `check-state check-${ready === replicas.length ? 'healthy' : 'starting'}` },
        `${ready}/${replicas.length} ready`) : null),
    h('td', { class: 'num opt' }, ''),
    h('td', { class: 'num opt' }, restarts),
    h('td', { class: 'num opt' }, ''),
    h('td', { class: 'num opt' }, running.length ? cpu.toFixed(1) : ''),
    h('td', { class: 'num opt' }, running.length ? formatBytes(memory) : ''),
    h('td', { class: 'actions' },
      button(set, 'stop', 'Stop', { disabled: !running.length, 'aria-label': `Stop every replica of ${set}` }),
      button(set, 'restart', running.length ? 'Restart' : 'Start', { 'aria-label': `Restart every replica of ${set}` }),
      button(set, 'reload', 'Reload', { title: 'Zero-downtime restart, one replica at a time' }),
      button(set, 'scale', 'Scale', { 'data-count': replicas.length }),
      button(set, 'delete', 'Delete', { class: 'small danger', 'aria-label': `Delete every replica of ${set}` })));
}

/** Every row of the table for this listing. */
export function managedRows(processes, history) {
  const rows = [];
  for (const entry of groupSets(processes)) {
    if (entry.process) {
      rows.push(processRow(entry.process, history, null));
      continue;
    }
    rows.push(setRow(entry.set, entry.replicas));
    for (const p of entry.replicas) rows.push(processRow(p, history, { base: entry.set }));
  }
  return rows;
}
