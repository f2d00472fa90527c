// procward desktop window: the ports table with a filter and Kill buttons, the managed
// processes, and the confirmation the tray asks for. All data and every action go
// through the app's Rust commands (window.__TAURI__.core.invoke).
'use strict';

const { invoke } = window.__TAURI__.core;
const { listen } = window.__TAURI__.event;

const $ = (id) => document.getElementById(id);
let overview = { ports: [], managed: [], daemon: false, dashboard: null };

function cell(text, cls) {
  const td = document.createElement('td');
  td.textContent = text == null ? '' : String(text);
  if (cls) td.className = cls;
  return td;
}

function say(text, error) {
  $('status').textContent = text;
  $('status').className = error ? 'error' : '';
}

function matches(row, filter) {
  if (!filter) return true;
  const hay = [row.port, row.protocol, row.local_address, row.pid, row.process_name, row.user, row.managed]
    .filter((v) => v != null).join(' ').toLowerCase();
  return filter.toLowerCase().split(/\s+/).every((word) => hay.includes(word));
}

function renderPorts() {
  const filter = $('filter').value.trim();
  const body = $('ports').tBodies[0];
  body.replaceChildren();
  const shown = overview.ports.filter((row) => matches(row, filter));
  for (const row of shown) {
    const tr = document.createElement('tr');
    tr.dataset.port = row.port;
    tr.append(cell(row.port, 'num'), cell(row.protocol), cell(row.local_address),
      cell(row.pid ?? '–', 'num'), cell(row.process_name ?? 'hidden'), cell(row.user), cell(row.managed ?? ''));
    const actions = document.createElement('td');
    const kill = document.createElement('button');
    kill.textContent = 'Kill';
    kill.className = 'danger';
    kill.disabled = row.pid == null;
    kill.title = row.pid == null ? 'the holder cannot be seen' : `SIGTERM, then SIGKILL after 5 s`;
    kill.addEventListener('click', () => requestKill(row));
    actions.append(kill);
    tr.append(actions);
    body.append(tr);
  }
  $('count').textContent = `(${shown.length} of ${overview.ports.length})`;
}

function renderManaged() {
  $('managed-section').hidden = !overview.daemon;
  const body = $('managed').tBodies[0];
  body.replaceChildren();
  for (const proc of overview.managed) {
    const tr = document.createElement('tr');
    tr.append(cell(proc.name), cell(proc.state), cell(proc.pid || '–', 'num'), cell(proc.restarts, 'num'));
    const td = document.createElement('td');
    const up = ['running', 'starting', 'pending', 'paused'].includes(proc.state);
    for (const action of up ? ['stop', 'restart'] : ['start']) {
      const button = document.createElement('button');
      button.textContent = action[0].toUpperCase() + action.slice(1);
      button.addEventListener('click', async () => {
        try {
          const after = await invoke('managed_action', { name: proc.name, action });
          say(`${proc.name}: ${after.state}`);
        } catch (e) {
          say(`${action} ${proc.name}: ${e}`, true);
        }
        refresh();
      });
      td.append(button);
    }
    tr.append(td);
    body.append(tr);
  }
  $('daemon').textContent = overview.daemon ? 'daemon running' : 'no daemon: ports only';
  $('dashboard').hidden = !overview.dashboard;
}

async function refresh() {
  try {
    overview = await invoke('overview');
    renderPorts();
    renderManaged();
  } catch (e) {
    say(`cannot read the ports: ${e}`, true);
  }
}

async function kill(row, elevated) {
  const command = elevated ? 'kill_process_elevated' : 'kill_process';
  const result = await invoke(command, { pid: row.pid, startTicks: row.start_ticks });
  say(result.message, result.status !== 'Success');
  if (result.status === 'PermissionDenied') askFirst(row, true);
  refresh();
}

// Managed processes and other users' are confirmed first; the rest are killed at once.
function requestKill(row) {
  if (row.confirm) askFirst(row, !row.own);
  else kill(row, false);
}

function askFirst(row, offerRoot) {
  const who = `${row.process_name ?? 'process'} (${row.pid}) on port ${row.port}`;
  const why = row.managed
    ? `It is the managed process "${row.managed}": it will be stopped and not restarted.`
    : row.own ? '' : `It belongs to ${row.user}.`;
  $('confirm-text').textContent = `Kill ${who}? ${why}`;
  $('confirm-root').hidden = !offerRoot;
  $('confirm-kill').hidden = !row.own;
  const dialog = $('confirm');
  dialog.onclose = () => {
    if (dialog.returnValue === 'kill') kill(row, false);
    if (dialog.returnValue === 'root') kill(row, true);
  };
  if (!dialog.open) dialog.showModal();
}

$('filter').addEventListener('input', renderPorts);
$('dashboard').addEventListener('click', async (event) => {
  event.preventDefault();
  try { say(`opened ${await invoke('open_dashboard')}`); } catch (e) { say(String(e), true); }
});
listen('confirm-kill', (event) => askFirst(event.payload, !event.payload.own));
listen('kill-result', (event) => { say(event.payload.message, event.payload.status !== 'Success'); refresh(); });
listen('managed-result', () => refresh());

// Opened by the tray to confirm a kill: ?confirm=PID&ticks=START_TICKS names the row.
async function start() {
  await refresh();
  const asked = new URLSearchParams(location.search);
  if (asked.has('confirm')) {
    const pid = Number(asked.get('confirm'));
    const ticks = Number(asked.get('ticks'));
    const row = overview.ports.find((r) => r.pid === pid && r.start_ticks === ticks);
    if (row) askFirst(row, !row.own);
    else say(`pid ${pid} no longer holds a listed port; nothing was signalled`, true);
  }
  setInterval(refresh, 3000);
}
start();
