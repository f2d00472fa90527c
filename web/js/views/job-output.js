// The queue view's output panel: one job followed at a time (job:join, then `output` and
// `status` messages of session "job:ID"); switching jobs or closing the panel leaves the
// previous session (session:leave). A job retried after its session ended (the session
// ends with the job) is joined again when its events say it runs once more.

import { toast } from '../ui.js';
import { OutputDecoder, byId, commandText, formatDuration, h } from '../util.js';

const OUTPUT_MAX_CHARS = 512 * 1024;

export const FINAL_STATES = new Set(['completed', 'failed', 'cancelled']);

const SIGNALS = {
  1: 'SIGHUP', 2: 'SIGINT', 3: 'SIGQUIT', 4: 'SIGILL', 6: 'SIGABRT', 7: 'SIGBUS', 8: 'SIGFPE',
  9: 'SIGKILL', 11: 'SIGSEGV', 13: 'SIGPIPE', 14: 'SIGALRM', 15: 'SIGTERM', 24: 'SIGXCPU',
};

function present(value) {
  return value !== undefined && value !== null;
}

/** An ended attempt: "timed out", "killed by SIGTERM", "exit 3"; '' while it runs. */
export function attemptOutcome(attempt) {
  if (!attempt || !present(attempt.ended_ms)) return '';
  if (attempt.timed_out) return 'timed out';
  if (present(attempt.signal) && attempt.signal !== 0) {
    return `killed by ${SIGNALS[attempt.signal] || `signal ${attempt.signal}`}`;
  }
  if (present(attempt.exit_code)) return `exit ${attempt.exit_code}`;
  return 'ended';
}

/** A `status` message's data (or join ack's status) for people. */
function statusText(data) {
  if (!data || !data.state) return 'unknown';
  return present(data.exitCode) ? `${data.state} (exit code ${data.exitCode})` : data.state;
}

export class JobOutput {
  /** onChange(): the followed job changed (the table marks the selected row). */
  constructor(conn, onChange) {
    this.conn = conn;
    this.onChange = onChange;
    this.job = null; // {id, sessionId, unsubscribe, decoders, chars, gotStatus, ended}
    this.opening = 0; // counts open() calls: only the latest one goes on
    byId('job-close').addEventListener('click', () => this.close());
  }

  get id() {
    return this.job ? this.job.id : null;
  }

  /** Follows job `id`, leaving the previous job's session first. */
  async open(id, record, leavePrevious = true) {
    const opening = ++this.opening;
    await this.close(leavePrevious, false);
    if (opening !== this.opening) return;
    const sessionId = `job:${id}`;
    // Messages of an earlier join of this job, held after we left it, are not this one's.
    this.conn.forgetSession(sessionId);
    byId('job-output').replaceChildren();
    byId('job-panel').hidden = false;
    byId('job-title').textContent = `Job ${id}`;
    this.showStatus({ state: record ? record.state : '' }, record ? '' : 'joining…');
    const job = { id, sessionId, decoders: {}, chars: 0, gotStatus: false, ended: false };
    job.unsubscribe = this.conn.onSession(sessionId, (message) => this.onMessage(job, message));
    this.job = job;
    this.update(record);
    this.onChange();
    try {
      const ack = await this.conn.call('job:join', { id });
      // Its first status message usually comes before the ack: a later one wins.
      if (this.job === job && !job.gotStatus && ack.status) this.setStatus(job, ack.status);
    } catch (error) {
      if (this.job === job) this.append(job, `[${error.message}]\n`, 'error');
      toast(error.message, 'error');
    }
  }

  /** A new connection is in no session: join the followed job again. */
  rejoin() {
    if (this.job) this.open(this.job.id, null, false);
  }

  /**
   * Closes the panel (`notify`: really, not to open another job) and leaves the session
   * (awaited, so a new join does not race it).
   */
  async close(leave = true, notify = true) {
    if (notify) {
      this.opening += 1; // an open() under way gives up
      byId('job-panel').hidden = true;
    }
    const job = this.job;
    this.job = null;
    if (!job) return;
    job.unsubscribe();
    if (leave && this.conn.connected) {
      await this.conn.call('session:leave', { sessionId: job.sessionId }).catch(() => {});
    }
    if (notify) this.onChange();
  }

  /** A `job` message of the queue: a followed job that runs again is joined again. */
  onJobEvent(data) {
    const job = this.job;
    if (!job || data.id !== job.id || !job.ended || job.rejoining) return;
    if (FINAL_STATES.has(data.state)) return;
    job.rejoining = true;
    this.open(job.id, null, true);
  }

  /** The job's listed record: command, group and attempts under the title. */
  update(record) {
    if (!record || !this.job || record.id !== this.job.id) return;
    this.onJobEvent(record); // retried while no events came (the view was hidden)
    const attempts = Array.isArray(record.attempts) ? record.attempts : [];
    const parts = [commandText(record.spec), `group ${record.spec ? record.spec.group : '?'}`];
    const last = attempts[attempts.length - 1];
    if (last) {
      const outcome = attemptOutcome(last) || (FINAL_STATES.has(record.state) ? 'ended' : 'running');
      const took = present(last.ended_ms) && last.started_ms
        ? `, ${formatDuration((Number(last.ended_ms) - Number(last.started_ms)) / 1000)}`
        : '';
      parts.push(`attempt ${last.number}: pid ${last.pid || '?'}, ${outcome}${took}`);
    }
    if (record.reason) parts.push(record.reason);
    byId('job-detail').textContent = parts.join(' · ');
  }

  onMessage(job, message) {
    if (this.job !== job) return;
    const data = message.data || {};
    if (message.type === 'output') {
      const stream = data.stream === 'stderr' ? 'stderr' : 'stdout';
      if (!job.decoders[stream]) job.decoders[stream] = new OutputDecoder();
      this.append(job, job.decoders[stream].decode(data), stream);
    } else if (message.type === 'status') {
      job.gotStatus = true;
      this.setStatus(job, data);
    } else if (message.type === 'error') {
      this.append(job, `[${data.message || 'error'}]\n`, 'error');
    }
  }

  setStatus(job, data) {
    job.state = data.state;
    job.ended = FINAL_STATES.has(data.state);
    this.showStatus(data);
  }

  showStatus(data, text) {
    const node = byId('job-status');
    node.textContent = text || statusText(data);
    node.className = `state state-${data.state || 'unknown'}`;
    node.dataset.state = data.state || '';
  }

  append(job, text, kind) {
    if (!text) return;
    const output = byId('job-output');
    output.append(kind === 'stdout' ? document.createTextNode(text) : h('span', { class: kind }, text));
    job.chars += text.length;
    while (job.chars > OUTPUT_MAX_CHARS && output.firstChild) {
      job.chars -= output.firstChild.textContent.length;
      output.firstChild.remove();
    }
    if (byId('job-follow').checked) output.scrollTop = output.scrollHeight;
  }
}
