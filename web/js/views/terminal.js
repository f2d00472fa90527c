// Terminal: an interactive shell in a pseudo-terminal on the daemon's machine
// (session:create with interactive: true), shown with xterm.js; keystrokes go out as
// terminal:input, size changes as terminal:resize, Close sends session:kill.

import { report, toast } from '../ui.js';
import { base64ToBytes, byId, debounce, describeStatus } from '../util.js';

// The daemon's user's shell when it has $SHELL, else /bin/sh (the browser cannot know).
const SHELL = { command: '/bin/sh', args: ['-c', 'exec "${SHELL:-/bin/sh}" -i'] };

export class TerminalView {
  constructor(conn) {
    this.conn = conn;
    this.term = null;
    this.fit = null;
    this.session = null; // {id, pid, unsubscribe, ended}
    this.visible = false;
    this.container = byId('term-container');
    byId('term-new').addEventListener('click', () => this.create());
    byId('term-close').addEventListener('click', () => this.close());
    const refit = debounce(() => this.refit(), 100);
    window.addEventListener('resize', refit);
    new ResizeObserver(refit).observe(this.container);
  }

  /** On a new connection: join the running session again (its replay redraws it). */
  async onConnected() {
    const session = this.session;
    if (!session || session.ended) return;
    try {
      this.term.reset();
      await this.conn.call('session:join', { sessionId: session.id });
      this.setStatus(`running (pid ${session.pid})`);
    } catch (error) {
      this.ended(session, `lost: ${error.message}`);
    }
  }

  /** The connection dropped: the session may not survive it (it is joined again later). */
  onDown() {
    if (this.session && !this.session.ended) this.setStatus('connection lost, reconnecting…');
  }

  show() {
    this.visible = true;
    this.refit();
    if (this.term) this.term.focus();
  }

  hide() {
    this.visible = false;
  }

  reset() {
    const session = this.session;
    if (session && !session.ended && this.conn.connected) {
      this.conn.call('session:kill', { sessionId: session.id }).catch(() => {});
    }
    if (session) session.unsubscribe();
    this.session = null;
    if (this.term) this.term.dispose();
    this.term = null;
    this.fit = null;
    this.container.replaceChildren();
    this.setStatus('No terminal open.');
    this.updateButtons();
  }

  ensureTerminal() {
    if (this.term) return;
    // Globals from vendor/xterm.js and vendor/addon-fit.js.
    const term = new globalThis.Terminal({
      cursorBlink: true,
      fontSize: 14,
      scrollback: 5000,
      fontFamily: 'ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace',
      theme: { background: '#0f1419', foreground: '#e6e1cf' },
    });
    const fit = new globalThis.FitAddon.FitAddon();
    term.loadAddon(fit);
    term.open(this.container);
    term.onData((data) => {
      const session = this.session;
      if (!session || session.ended) return;
      this.conn.call('terminal:input', { sessionId: session.id, data }).catch((error) => {
        this.setStatus(`input failed: ${error.message}`);
      });
    });
    term.onResize(({ cols, rows }) => {
      const session = this.session;
      if (!session || session.ended) return;
      this.conn.call('terminal:resize', { sessionId: session.id, cols, rows }).catch(() => {});
    });
    this.term = term;
    this.fit = fit;
  }

  refit() {
    if (!this.fit || !this.visible || !this.container.clientWidth) return;
    try {
      this.fit.fit();
    } catch (error) {
      console.warn('fit failed', error);
    }
  }

  async create() {
    if (this.session && !this.session.ended) await this.close();
    if (this.session) this.session.unsubscribe();
    this.session = null;
    this.ensureTerminal();
    this.term.reset();
    this.refit();
    const { cols, rows } = this.term;
    this.setStatus('starting…');
    byId('term-new').disabled = true;
    let ack;
    try {
      ack = await this.conn.call('session:create', {
        ...SHELL,
        env: { TERM: 'xterm-256color', COLORTERM: 'truecolor' },
        interactive: true,
        cols,
        rows,
      });
    } catch (error) {
      this.setStatus(`could not start: ${error.message}`);
      toast(error.message, 'error');
      this.updateButtons();
      return;
    }
    const session = { id: ack.sessionId, pid: ack.pid, ended: false };
    this.session = session;
    this.setStatus(`running (pid ${ack.pid})`);
    session.unsubscribe = this.conn.onSession(session.id, (message) => this.onMessage(session, message));
    this.updateButtons();
    // The size may have changed while the session was being created.
    if (this.term.cols !== cols || this.term.rows !== rows) {
      this.conn.call('terminal:resize', { sessionId: session.id, cols: this.term.cols, rows: this.term.rows }).catch(() => {});
    }
    this.term.focus();
  }

  onMessage(session, message) {
    if (this.session !== session || !this.term) return;
    const data = message.data || {};
    if (message.type === 'output') {
      if (typeof data.content !== 'string') return;
      this.term.write(data.encoding === 'base64' ? base64ToBytes(data.content) : data.content);
    } else if (message.type === 'status') {
      if (data.state === 'running' || data.state === 'paused') {
        if (!session.ended) this.setStatus(`${data.state} (pid ${session.pid})`);
      } else {
        this.ended(session, describeStatus(data));
      }
    } else if (message.type === 'error') {
      this.term.write(`\r\n\x1b[31m[${data.message || 'error'}]\x1b[0m\r\n`);
    }
  }

  ended(session, how) {
    if (session.ended) return;
    session.ended = true;
    this.setStatus(`Terminal ended: ${how}.`);
    if (this.term && this.session === session) this.term.write(`\r\n\x1b[2m[${how}]\x1b[0m\r\n`);
    this.updateButtons();
  }

  async close() {
    const session = this.session;
    if (!session || session.ended) return;
    byId('term-close').disabled = true;
    await report(this.conn.call('session:kill', { sessionId: session.id }), () => null);
    // The status message says when it is gone; don't wait forever for it.
    await new Promise((resolve) => {
      const started = Date.now();
      const check = () => {
        if (session.ended || Date.now() - started > 3000) resolve();
        else setTimeout(check, 50);
      };
      check();
    });
    if (!session.ended) this.ended(session, 'closed');
  }

  setStatus(text) {
    byId('term-status').textContent = text;
  }

  updateButtons() {
    const running = Boolean(this.session && !this.session.ended);
    byId('term-new').disabled = false;
    byId('term-close').disabled = !running;
  }
}
