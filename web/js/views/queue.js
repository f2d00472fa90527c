// Job queue: groups (queue:groups, pause and resume), the daemons sharing the queue
// (queue:hosts, listed with the groups), jobs by state (queue:list), kept live
// by queue:subscribe's `job` messages (the affected rows at once, a fresh list at most every
// RELIST_MS however many events come), add (queue:add), cancel (queue:cancel, confirmed)
// and retry (queue:retry), and the selected job's live output (./job-output.js).

import { confirmDialog, report, toast } from '../ui.js';
import { PolledView, byId, commandText, h } from '../util.js';
import { JobOutput } from './job-output.js';
import { groupRow, hostRow, jobRow, patchChildren, stateChips } from './queue-rows.js';

// Groups change without job events (another client pauses one): list now and then too.
const REFRESH_MS = 5000;
const RELIST_MS = 300;
const RENDER_MS = 100;
const SHOWN_MAX = 500;

export class QueueView extends PolledView {
  constructor(conn) {
    super(conn, REFRESH_MS);
    this.jobs = new Map(); // id -> Job (as listed, updated by events)
    this.recent = new Map(); // id -> {at, data}: the last event of each job, to replay on newer lists
    this.groups = [];
    this.hosts = []; // the daemons on the queue (queue:hosts)
    this.hostsError = null;
    this.filter = 'all';
    this.busy = new Set(); // ids with a cancel or retry under way
    this.skew = 0; // the daemon's clock minus ours (from message timestamps), in ms
    this.visible = false;
    this.subscribed = false;
    this.relistTimer = null;
    this.renderTimer = null;
    this.ticker = null;
    this.body = byId('queue-body');
    this.output = new JobOutput(conn, () => this.render());

    conn.onJobs((data, message) => this.onJob(data, message));
    byId('queue-form').addEventListener('submit', (event) => {
      event.preventDefault();
      this.add();
    });
    byId('queue-chips').addEventListener('click', (event) => {
      const chip = event.target.closest('button[data-state]');
      if (!chip) return;
      this.filter = chip.dataset.state;
      this.render();
    });
    byId('queue-groups-body').addEventListener('click', (event) => {
      const button = event.target.closest('button[data-group]');
      if (button) this.pause(button.dataset.group, button.dataset.pause === 'true');
    });
    this.body.addEventListener('click', (event) => {
      const button = event.target.closest('button[data-action]');
      const row = event.target.closest('tr[data-id]');
      if (!row) return;
      const id = Number(row.dataset.id);
      if (!button) this.select(id);
      else if (button.dataset.action === 'cancel') this.cancel(id);
      else if (button.dataset.action === 'retry') this.retry(id);
      else this.select(id);
    });
  }

  onConnected() {
    this.subscribed = false; // a new connection has no subscription (show() makes one)
    this.output.rejoin();
  }

  onDown() {
    this.subscribed = false;
  }

  show() {
    this.visible = true;
    this.subscribe();
    super.show();
    // "starts in Ns" counts down.
    this.ticker = setInterval(() => {
      if ([...this.jobs.values()].some((job) => job.state === 'delayed')) this.render();
    }, 1000);
  }

  hide() {
    this.visible = false;
    super.hide();
    clearInterval(this.ticker);
    if (this.subscribed && this.conn.connected) this.conn.call('queue:unsubscribe', {}).catch(() => {});
    this.subscribed = false;
  }

  clear() {
    // Logged out (hide() is not called then): stop everything this view runs.
    this.visible = false;
    this.subscribed = false;
    clearInterval(this.ticker);
    this.output.close(false);
    this.jobs = new Map();
    this.recent.clear();
    this.groups = [];
    this.hosts = [];
    this.hostsError = null;
    this.busy.clear();
    this.filter = 'all';
    clearTimeout(this.relistTimer);
    this.relistTimer = null;
    this.render();
  }

  async subscribe() {
    if (!this.conn.connected) return;
    try {
      await this.conn.call('queue:subscribe', {});
      if (!this.visible) {
        this.conn.call('queue:unsubscribe', {}).catch(() => {}); // hidden meanwhile
        return;
      }
      this.subscribed = true;
      this.relistSoon(); // what changed between the first list and the subscription
    } catch (error) {
      toast(`live updates: ${error.message}`, 'error');
    }
  }

  /** One `job` message (or null: some were dropped, list again). */
  onJob(data, message) {
    if (!this.visible) return;
    if (message && Number(message.timestamp)) this.skew = Number(message.timestamp) - Date.now();
    if (!data) {
      this.relistSoon();
      return;
    }
    this.recent.set(data.id, { at: performance.now(), data });
    this.apply(data);
    this.output.onJobEvent(data);
    this.scheduleRender();
    this.relistSoon(); // for what events do not carry (pids, signals, run_at_ms, new jobs)
  }

  apply(data) {
    const job = this.jobs.get(data.id);
    if (!job) return;
    Object.assign(job, {
      state: data.state, reason: data.reason, exit_code: data.exitCode ?? null, liveAttempt: data.attempt,
    });
  }

  /** A list within RELIST_MS: a burst of events makes one list, not one each. */
  relistSoon() {
    if (this.relistTimer) return;
    this.relistTimer = setTimeout(() => {
      this.relistTimer = null;
      this.poller.kick();
    }, RELIST_MS);
  }

  scheduleRender() {
    if (this.renderTimer) return;
    this.renderTimer = setTimeout(() => {
      this.renderTimer = null;
      this.render();
    }, RENDER_MS);
  }

  async refresh() {
    if (!this.conn.connected) return;
    const asked = performance.now();
    try {
      const [list, groups, hosts] = await Promise.all([
        this.conn.call('queue:list', {}),
        this.conn.call('queue:groups', {}),
        // A fleet view that fails (the shared queue unreachable) does not hide the jobs.
        this.conn.call('queue:hosts', {}).catch((error) => ({ error: error.message })),
      ]);
      this.jobs = new Map((Array.isArray(list.jobs) ? list.jobs : []).map((job) => [job.id, job]));
      this.groups = Array.isArray(groups.groups) ? groups.groups : [];
      this.hostsError = hosts.error || null;
      if (!hosts.error) this.hosts = Array.isArray(hosts.hosts) ? hosts.hosts : [];
      this.error = null;
      // An event that came while the list was on its way is newer than the list.
      for (const [id, { at, data }] of this.recent) {
        if (at >= asked) this.apply(data);
        else this.recent.delete(id);
      }
    } catch (error) {
      this.error = error.message;
    }
    this.render();
  }

  render() {
    clearTimeout(this.renderTimer);
    this.renderTimer = null;
    this.renderGroups();
    this.renderHosts();
    patchChildren(byId('queue-chips'), stateChips(this.jobs, this.filter));
    this.renderJobs();
    this.output.update(this.jobs.get(this.output.id));
  }

  renderGroups() {
    const select = byId('queue-group');
    const chosen = select.value;
    const names = this.groups.map((group) => group.name);
    if (names.join('\n') !== [...select.options].map((option) => option.value).join('\n')) {
      select.replaceChildren(...names.map((name) => h('option', { value: name }, name)));
      if (names.includes(chosen)) select.value = chosen;
      else if (names.includes('default')) select.value = 'default';
    }
    patchChildren(byId('queue-groups-body'), this.groups.map(groupRow));
  }

  renderHosts() {
    const now = Date.now() + this.skew;
    let rows = [...this.hosts]
      .sort((a, b) => Number(Boolean(b.alive)) - Number(Boolean(a.alive)) || String(a.host).localeCompare(String(b.host)))
      .map((host) => hostRow(host, now));
    if (this.hostsError) {
      rows = [h('tr', { class: 'empty' }, h('td', { colspan: 7, class: 'muted' }, `error: ${this.hostsError}`)), ...rows];
    } else if (!rows.length) {
      rows = [h('tr', { class: 'empty' }, h('td', { colspan: 7, class: 'muted' }, 'No hosts.'))];
    }
    patchChildren(byId('queue-hosts-body'), rows);
  }

  renderJobs() {
    const jobs = [...this.jobs.values()]
      .filter((job) => this.filter === 'all' || job.state === this.filter)
      .sort((a, b) => b.id - a.id);
    // The Host column, when the queue is shared: some job names the daemon that ran it.
    const showHost = [...this.jobs.values()].some((job) => job.host);
    byId('queue-host-col').hidden = !showHost;
    const columns = showHost ? 9 : 8;
    if (!jobs.length) {
      let why = this.filter === 'all' ? 'No jobs. Add one above.' : `No ${this.filter} jobs.`;
      if (this.error) why = `error: ${this.error}`;
      patchChildren(this.body, [h('tr', { class: 'empty' }, h('td', { colspan: columns, class: 'muted' }, why))]);
      return;
    }
    const rows = jobs.slice(0, SHOWN_MAX).map((job) => jobRow(job, {
      busy: this.busy.has(job.id), selected: this.output.id === job.id, skew: this.skew, showHost,
    }));
    if (jobs.length > SHOWN_MAX) {
      rows.push(h('tr', { class: 'empty' },
        h('td', { colspan: columns, class: 'muted' }, `${jobs.length - SHOWN_MAX} older jobs not shown.`)));
    }
    patchChildren(this.body, rows);
  }

  async select(id) {
    if (this.output.id === id) return;
    await this.output.open(id, this.jobs.get(id));
    if (this.output.id === id) byId('job-panel').scrollIntoView({ block: 'nearest' });
  }

  async add() {
    const command = byId('queue-command').value.trim();
    if (!command) return;
    const payload = { command };
    const group = byId('queue-group').value;
    if (group) payload.group = group;
    for (const field of ['priority', 'attempts']) {
      const text = byId(`queue-${field}`).value.trim();
      if (text !== '') payload[field] = Number(text);
    }
    const ack = await report(this.conn.call('queue:add', payload), (result) => `queued job ${result.job.id}`);
    if (ack) byId('queue-command').value = '';
    this.relistSoon();
  }

  async cancel(id) {
    const job = this.jobs.get(id);
    if (!job) return;
    const how = job.state === 'running'
      ? 'Its processes get SIGTERM, then SIGKILL after 5 s.'
      : 'It will not run.';
    const ok = await confirmDialog(`Cancel job ${id} (${commandText(job.spec)})? ${how}`, 'Cancel job');
    if (!ok) return;
    await this.act(id, 'queue:cancel', `job ${id} cancelled`);
  }

  async retry(id) {
    await this.act(id, 'queue:retry', `job ${id} queued again`);
  }

  async act(id, event, done) {
    this.busy.add(id);
    this.render();
    // The ack's job may be older than the events already applied: list instead.
    await report(this.conn.call(event, { id }), () => done);
    this.busy.delete(id);
    this.render();
    this.relistSoon();
  }

  async pause(group, pause) {
    const ack = await report(
      this.conn.call(pause ? 'queue:pause' : 'queue:resume', { group }),
      () => `group ${group} ${pause ? 'paused' : 'resumed'}`,
    );
    if (ack && Array.isArray(ack.groups)) {
      const changed = new Map(ack.groups.map((g) => [g.name, g]));
      this.groups = this.groups.map((g) => changed.get(g.name) || g);
      this.render();
    }
  }
}
