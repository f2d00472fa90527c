// The one socket.io connection to the daemon, and the routing of its `message` events.
//
// Requests are events with an ack (PROTOCOL.md); `call()` turns them into promises that
// resolve with the ack and reject with its error. Server messages are routed by type
// and sessionId; output that arrives for a session before anyone listens for it (the
// shell's first prompt can beat the ack of session:create) is held briefly and replayed
// to the first listener.

const ACK_TIMEOUT_MS = 15000;
const EARLY_KEEP_MS = 10000;
const EARLY_MAX = 500;

export class Connection extends EventTarget {
  constructor() {
    super();
    this.socket = null;
    this.sessions = new Map(); // sessionId -> Set of listeners
    this.early = new Map(); // sessionId -> [{at, message}]
    this.metricsListeners = new Set();
    this.jobListeners = new Set();
    this.everConnected = false;
  }

  /**
   * Connects with the token. Events dispatched: "connected" (every (re)connection),
   * "auth-failed" ({detail: message}), "down" ({detail: reason}).
   */
  open(token) {
    this.close();
    this.everConnected = false;
    // Same origin, default path /socket.io/; the token travels in the handshake only.
    // The global `io` comes from vendor/socket.io.min.js.
    // WebSocket first (terminals want its latency; no upgrade dance), long-polling when a
    // WebSocket cannot be opened (a proxy that does not pass it).
    const socket = globalThis.io({
      auth: { token },
      // Names this page in the audit log (a claim: `interface: dashboard`).
      query: { client: 'dashboard' },
      transports: ['websocket', 'polling'],
      tryAllTransports: true,
      reconnectionDelayMax: 5000,
    });
    this.socket = socket;
    socket.on('connect', () => {
      this.everConnected = true;
      this.emitLocal('connected');
    });
    socket.on('connect_error', (error) => {
      const message = (error && error.message) || 'cannot connect';
      // A refused handshake is final (socket.io does not retry it); so is any failure
      // before the first connection, which is most likely a wrong address or token.
      if (!socket.active || !this.everConnected) {
        socket.disconnect();
        this.emitLocal('auth-failed', message);
      } else {
        this.emitLocal('down', message);
      }
    });
    socket.on('disconnect', (reason) => {
      if (reason === 'io client disconnect') return;
      if (reason === 'io server disconnect') {
        // The daemon hung up on us (token rotated, or it refused us): sign in again.
        this.emitLocal('auth-failed', 'disconnected by the daemon');
      } else {
        this.emitLocal('down', reason);
      }
    });
    socket.on('message', (message) => this.route(message));
  }

  close() {
    if (this.socket) {
      this.socket.removeAllListeners();
      this.socket.disconnect();
      this.socket = null;
    }
    this.early.clear();
  }

  get connected() {
    return Boolean(this.socket && this.socket.connected);
  }

  /** Sends an event and resolves with its ack; rejects on {ok: false} or time-out. */
  call(event, payload = {}, timeoutMs = ACK_TIMEOUT_MS) {
    return new Promise((resolve, reject) => {
      if (!this.socket || !this.socket.connected) {
        reject(new Error('not connected to the daemon'));
        return;
      }
      this.socket.timeout(timeoutMs).emit(event, payload, (error, ack) => {
        if (error) {
          reject(new Error(`${event}: no answer from the daemon`));
        } else if (!ack || ack.ok !== true) {
          reject(new Error((ack && ack.error) || `${event} failed`));
        } else {
          resolve(ack);
        }
      });
    });
  }

  /** Listens for output/status/error/metrics messages of one session. */
  onSession(sessionId, listener) {
    let set = this.sessions.get(sessionId);
    if (!set) {
      set = new Set();
      this.sessions.set(sessionId, set);
    }
    set.add(listener);
    const held = this.early.get(sessionId);
    if (held) {
      this.early.delete(sessionId);
      for (const { message } of held) listener(message);
    }
    return () => {
      set.delete(listener);
      if (set.size === 0) this.sessions.delete(sessionId);
    };
  }

  /**
   * Listens for the queue's `job` messages (after queue:subscribe): listener(data,
   * message). When the daemon dropped some (a slow client), listener(null, message):
   * list the jobs again.
   */
  onJobs(listener) {
    this.jobListeners.add(listener);
    return () => this.jobListeners.delete(listener);
  }

  /** Drops the messages held for a session nobody listened to (a session left earlier). */
  forgetSession(sessionId) {
    this.early.delete(sessionId);
  }

  /** Listens for system-wide metrics (after metrics:subscribe). */
  onMetrics(listener) {
    this.metricsListeners.add(listener);
    return () => this.metricsListeners.delete(listener);
  }

  route(message) {
    if (!message || typeof message !== 'object') return;
    const { type, sessionId } = message;
    if (sessionId === null || sessionId === undefined) {
      if (type === 'metrics') {
        for (const listener of this.metricsListeners) listener(message.data || {});
      } else if (type === 'job') {
        for (const listener of this.jobListeners) listener(message.data || {}, message);
      } else if (type === 'error') {
        const text = (message.data && message.data.message) || '';
        if (/job events were dropped/.test(text)) {
          for (const listener of this.jobListeners) listener(null, message);
        }
        this.emitLocal('server-error', (message.data && message.data.message) || 'error');
      }
      return;
    }
    const listeners = this.sessions.get(sessionId);
    if (listeners && listeners.size) {
      for (const listener of [...listeners]) listener(message);
      return;
    }
    this.holdEarly(sessionId, message);
  }

  holdEarly(sessionId, message) {
    const now = Date.now();
    for (const [id, list] of this.early) {
      if (list.length && now - list[list.length - 1].at > EARLY_KEEP_MS) this.early.delete(id);
    }
    let list = this.early.get(sessionId);
    if (!list) {
      list = [];
      this.early.set(sessionId, list);
    }
    list.push({ at: now, message });
    if (list.length > EARLY_MAX) list.shift();
  }

  emitLocal(name, detail) {
    this.dispatchEvent(new CustomEvent(name, { detail }));
  }
}
