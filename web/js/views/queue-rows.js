// The queue view's DOM: group rows, host rows, state chips and job rows, built from the
// daemon's Job and QueueGroup messages (proto field names) and its hosts (queue:hosts,
// HostInfo's field names). Text is only ever set as text (h()).

import { commandText, formatDuration, h } from '../util.js';
import { FINAL_STATES, attemptOutcome } from './job-output.js';

export const STATES = ['queued', 'delayed', 'running', 'completed', 'failed', 'cancelled'];
const CANCELLABLE = new Set(['queued', 'delayed', 'running']);
const RETRYABLE = new Set(['failed', 'cancelled']);

/** Attempts made in the current round (since the last retry), out of spec.attempts. */
export function tries(job) {
  const made = job.liveAttempt ?? (Array.isArray(job.attempts) ? job.attempts.length : 0);
  const total = job.spec && job.spec.attempts ? job.spec.attempts : '?';
  return `${Math.max(0, made - (Number(job.retried_after) || 0))}/${total}`;
}

/**
 * The last outcome: exit code, signal, time-out; "starts in Ns" while delayed (`skew`:
 * the daemon's clock minus ours, in ms).
 */
export function outcome(job, skew = 0) {
  const attempts = Array.isArray(job.attempts) ? job.attempts : [];
  const last = attempts[attempts.length - 1];
  // Events carry the state but not the attempts: the listed ones may be a step behind.
  const current = last && (job.liveAttempt ?? attempts.length) === attempts.length;
  if (job.state === 'running') return current && last.pid ? `running (pid ${last.pid})` : 'running';
  if (job.state === 'queued') {
    const after = (job.spec && job.spec.after) || [];
    return after.length ? `waiting for ${after.map((id) => `job ${id}`).join(', ')}` : 'waiting';
  }
  const ended = current ? attemptOutcome(last) : '';
  const text = ended || (job.exit_code !== null && job.exit_code !== undefined ? `exit ${job.exit_code}` : '');
  if (job.state === 'delayed') {
    const at = Number(job.run_at_ms);
    const left = at ? Math.ceil((at - (Date.now() + skew)) / 1000) : null;
    const when = left === null ? 'delayed' : left > 0 ? `starts in ${formatDuration(left)}` : 'starting…';
    return text ? `${text} · ${when}` : when;
  }
  return text || (FINAL_STATES.has(job.state) && !attempts.length ? 'never ran' : '');
}

export function groupRow(group) {
  const verb = group.paused ? 'Resume' : 'Pause';
  return h('tr', { 'data-testid': 'queue-group-row', 'data-name': group.name },
    h('td', { class: 'name' }, group.name),
    h('td', { class: 'num' }, group.parallel),
    h('td', {},
      h('span', {
        class: `state ${group.paused ? 'state-paused' : 'state-running'}`, 'data-testid': 'queue-group-state',
      }, group.paused ? 'paused' : 'active')),
    h('td', { class: 'actions' },
      h('button', {
        type: 'button', class: 'small', 'data-group': group.name, 'data-pause': String(!group.paused),
        'data-testid': `queue-group-${verb.toLowerCase()}`, 'aria-label': `${verb} group ${group.name}`,
      }, verb)));
}

/** "3s ago", "2m 5s ago" (`now`: the daemon's clock, Unix ms); "" when never seen. */
export function seenAgo(seenMs, now) {
  const seen = Number(seenMs);
  if (!seen) return '';
  return `${formatDuration(Math.max(0, now - seen) / 1000)} ago`;
}

/** One daemon on the queue (`now`: the daemon's clock, Unix ms). */
export function hostRow(host, now) {
  const load = Number(host.load);
  return h('tr', { 'data-testid': 'queue-host-row', 'data-host': host.host, 'data-alive': String(Boolean(host.alive)) },
    h('td', { class: 'name' }, host.host),
    h('td', {},
      h('span', {
        class: `state ${host.alive ? 'state-running' : 'state-failed'}`, 'data-testid': 'queue-host-state',
        title: host.alive ? 'registering' : 'stopped registering',
      }, host.alive ? 'alive' : 'gone')),
    h('td', { class: 'opt' }, host.version || ''),
    h('td', { class: 'num', 'data-testid': 'queue-host-load' }, Number.isFinite(load) ? load.toFixed(2) : ''),
    h('td', { class: 'num opt' }, host.cpus ?? ''),
    h('td', { class: 'num', 'data-testid': 'queue-host-jobs' }, host.jobs_running ?? 0),
    h('td', { class: 'opt', 'data-testid': 'queue-host-seen' }, seenAgo(host.seen_ms, now)));
}

/** "All N" and one chip per state with its count; the chosen one is pressed. */
export function stateChips(jobs, filter) {
  const counts = { all: jobs.size };
  for (const state of STATES) counts[state] = 0;
  for (const job of jobs.values()) counts[job.state] = (counts[job.state] || 0) + 1;
  return ['all', ...STATES].map((state) =>
    h('button', {
      type: 'button', class: `chip chip-${state}`, 'data-state': state, 'data-testid': `queue-chip-${state}`,
      'aria-pressed': String(filter === state),
    }, state === 'all' ? 'All' : state, ' ', h('span', { class: 'chip-count' }, counts[state] || 0)));
}

/**
 * One job's row; `busy`: a cancel or retry of it is under way; `showHost`: with a Host
 * cell (some job of the list has one: the queue is shared).
 */
export function jobRow(job, { busy, selected, skew, showHost = false }) {
  const spec = job.spec || {};
  const command = commandText(spec);
  const button = (action, label, attrs = {}) =>
    h('button', {
      type: 'button', class: 'small', 'data-action': action, 'data-testid': `queue-${action}`,
      'aria-label': `${label} job ${job.id}`, ...attrs,
    }, label);
  return h('tr', {
    'data-testid': 'queue-row', 'data-id': job.id, 'data-state': job.state,
    class: selected ? 'selectable selected' : 'selectable', 'aria-selected': String(selected),
  },
  h('td', { class: 'num' }, job.id),
  h('td', { class: 'opt' }, spec.group || ''),
  h('td', {},
    h('span', { class: `state state-${job.state}`, 'data-testid': 'queue-state' }, job.state),
    job.reason && job.reason !== job.state ? h('div', { class: 'muted small-text' }, job.reason) : null),
  h('td', { class: 'num opt' }, spec.priority ?? 0),
  h('td', { class: 'num opt', 'data-testid': 'queue-tries' }, tries(job)),
  h('td', { 'data-testid': 'queue-outcome' }, outcome(job, skew)),
  h('td', { class: 'name-cell opt' }, h('div', { class: 'cmd', title: command }, command)),
  showHost ? h('td', { class: 'opt', 'data-testid': 'queue-host' }, job.host || '') : null,
  h('td', { class: 'actions' },
    button('output', 'Output', { 'aria-pressed': String(selected) }),
    CANCELLABLE.has(job.state) ? button('cancel', 'Cancel', { class: 'small danger', disabled: busy }) : null,
    RETRYABLE.has(job.state) ? button('retry', 'Retry', { disabled: busy }) : null));
}

/**
 * Replaces parent's children with `nodes`, keeping every child identical to one of them
 * (same outerHTML) in place: rows that did not change are not touched, so a click or the
 * focus on them survives the many re-renders of a busy queue.
 */
export function patchChildren(parent, nodes) {
  const old = new Map();
  for (const child of parent.children) old.set(child.outerHTML, child);
  let cursor = parent.firstChild;
  for (const fresh of nodes) {
    const node = old.get(fresh.outerHTML) || fresh;
    old.delete(fresh.outerHTML);
    if (node === cursor) {
      cursor = cursor.nextSibling;
    } else {
      parent.insertBefore(node, cursor);
    }
  }
  while (cursor) {
    const next = cursor.nextSibling;
    cursor.remove();
    cursor = next;
  }
}
