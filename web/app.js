// procward dashboard: sign-in, navigation and the connection's life cycle. Each view
// lives in js/views/ and talks to the daemon only through the socket.io events of
// PROTOCOL.md (via js/connection.js).

import { Connection } from './js/connection.js';
import { dismissDialog } from './js/ui.js';
import { byId } from './js/util.js';
import { AuditView } from './js/views/audit.js';
import { ManagedView } from './js/views/managed.js';
import { OverviewView } from './js/views/overview.js';
import { PortsView } from './js/views/ports.js';
import { ProcessesView } from './js/views/processes.js';
import { QueueView } from './js/views/queue.js';
import { TerminalView } from './js/views/terminal.js';

const TOKEN_KEY = 'procward.token';
const DEFAULT_VIEW = 'overview';

const conn = new Connection();
const views = {
  overview: new OverviewView(conn, {
    onHostname: (name) => {
      byId('host-name').textContent = name;
      document.title = `procward · ${name}`;
    },
  }),
  processes: new ProcessesView(conn),
  ports: new PortsView(conn),
  managed: new ManagedView(conn),
  queue: new QueueView(conn),
  terminal: new TerminalView(conn),
  audit: new AuditView(conn),
};
let current = null;

function storedToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

function storeToken(token) {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // Storage can be disabled; the session then lasts until the page is reloaded.
  }
}

function setConnState(text, kind) {
  const node = byId('conn-state');
  node.textContent = text;
  node.dataset.state = kind;
}

function showLogin(error) {
  dismissDialog();
  for (const view of Object.values(views)) view.reset();
  current = null;
  byId('app').hidden = true;
  byId('login').hidden = false;
  const errorNode = byId('login-error');
  errorNode.textContent = error || '';
  errorNode.hidden = !error;
  const input = byId('login-token');
  input.value = '';
  input.focus();
}

function showApp() {
  byId('login').hidden = true;
  byId('app').hidden = false;
  byId('login-error').hidden = true;
  route();
}

function viewFromHash() {
  const name = location.hash.replace(/^#/, '');
  return Object.hasOwn(views, name) ? name : DEFAULT_VIEW;
}

/** Shows the view named in the URL's fragment (#processes, ...). */
function route() {
  if (byId('app').hidden) return;
  const name = viewFromHash();
  if (name === current) return;
  if (current) views[current].hide();
  for (const [key] of Object.entries(views)) {
    byId(`view-${key}`).hidden = key !== name;
  }
  for (const link of document.querySelectorAll('nav.tabs a')) {
    if (link.dataset.view === name) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  current = name;
  views[name].show();
}

function signIn(token) {
  storeToken(token);
  setConnState('connecting…', 'connecting');
  conn.open(token);
}

conn.addEventListener('connected', () => {
  setConnState('connected', 'up');
  for (const view of Object.values(views)) view.onConnected();
  if (byId('app').hidden) {
    showApp();
  } else if (current) {
    // Back after a disconnection: refresh the view now.
    views[current].hide();
    views[current].show();
  }
});

conn.addEventListener('auth-failed', (event) => {
  const reason = event.detail === 'invalid token' ? 'invalid token' : `cannot connect: ${event.detail}`;
  conn.close();
  storeToken(null);
  showLogin(reason);
});

conn.addEventListener('down', (event) => {
  setConnState(`reconnecting (${event.detail})…`, 'down');
  for (const view of Object.values(views)) view.onDown();
});

// The daemon also reports each refused request as an `error` message without a session;
// the request's own ack already shows it to the user, so this is for debugging only.
conn.addEventListener('server-error', (event) => {
  console.info('daemon:', event.detail);
});

byId('login-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const token = byId('login-token').value.trim();
  if (!token) return;
  byId('login-error').hidden = true;
  signIn(token);
});

byId('logout').addEventListener('click', () => {
  storeToken(null);
  showLogin('');
  conn.close();
});

window.addEventListener('hashchange', route);

const saved = storedToken();
if (saved) signIn(saved);
else showLogin('');
