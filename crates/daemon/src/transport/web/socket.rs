//! The socket.io namespace: authentication, then every event of `web/PROTOCOL.md`
//! through the one table of [`Event`]. Each watcher of a session gets its own forwarding task that sends
//! the replay, then the live stream; a client too slow for the stream skips ahead.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use socketioxide::SocketIo;
use socketioxide::extract::{AckSender, SocketRef, State, TryData};
use tokio::sync::broadcast::error::RecvError;
use tokio::task::AbortHandle;

use super::events::Event;
use super::message::{Message, OutputEncoder};
use super::{WebState, streams};
use crate::engine::session::{Session, SessionEvent};

/// Live sessions and log streams one client may follow at once.
pub const MAX_LIVE_PER_CLIENT: usize = 32;

/// What one connection holds: whether it authenticated, and its running forwarders.
#[derive(Clone, Default)]
pub struct Connection {
    inner: Arc<Mutex<ConnectionState>>,
}

#[derive(Default)]
struct ConnectionState {
    authenticated: bool,
    /// Session id → the task forwarding it to this client.
    watching: HashMap<String, AbortHandle>,
    metrics: Option<AbortHandle>,
}

impl Connection {
    fn lock(&self) -> std::sync::MutexGuard<'_, ConnectionState> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Why a connection is refused at connect time.
#[derive(Debug)]
pub struct AuthError;

impl std::fmt::Display for AuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("invalid token")
    }
}

/// The token in an `auth` payload or a connect payload: the seed's plain string
/// (`socket.emit('auth', token)`), or `{token}`.
fn token_of(payload: &Value) -> Option<&str> {
    match payload {
        Value::String(token) => Some(token),
        other => other.get("token").and_then(Value::as_str),
    }
}

/// Connect middleware: a connect auth payload with a wrong token is refused; none at
/// all leaves the socket unauthenticated until its `auth` event. The events are registered
/// here, not in the connect handler: socketioxide sends the client its CONNECT packet
/// after the middleware and runs the handler in a task of its own, so an event sent right
/// after connecting could otherwise arrive before its handler exists and get no answer.
pub async fn check_connect(
    socket: SocketRef,
    TryData(auth): TryData<Value>,
    State(state): State<WebState>,
) -> Result<(), AuthError> {
    let authenticated = match auth.ok().as_ref().and_then(token_of) {
        Some(token) if !state.tokens.admits(token) => return Err(AuthError),
        Some(_) => true,
        None => false,
    };
    register(socket, authenticated, state);
    Ok(())
}

/// Connect handler: everything is in place already (see [`check_connect`]).
pub async fn on_connect(socket: SocketRef) {
    tracing::debug!(socket = %socket.id, "socket.io client connected");
}

/// Registers the events and the cleanup of one client.
fn register(socket: SocketRef, authenticated: bool, state: WebState) {
    let connection = Connection::default();
    if authenticated {
        connection.lock().authenticated = true;
    }
    socket.extensions.insert(connection.clone());
    if !connection.lock().authenticated {
        let (waiting, socket) = (connection.clone(), socket.clone());
        let deadline = state.auth_timeout;
        tokio::spawn(async move {
            tokio::time::sleep(deadline).await;
            if !waiting.lock().authenticated {
                let why = format!("no auth event within {deadline:?} of connecting");
                let _ = socket.emit("message", &Message::error(None, why));
                let _ = socket.disconnect();
            }
        });
    }

    let auth_connection = connection.clone();
    // Not an `async` closure: its body runs as the event arrives, before any later event
    // of this client is handled, so `emit('auth', token)` followed at once by another
    // event (the seed's usage, without waiting for the ack) is already authenticated.
    socket.on(
        "auth",
        move |socket: SocketRef,
              TryData(payload): TryData<Value>,
              ack: AckSender,
              State(state): State<WebState>| {
            let payload = payload.unwrap_or(Value::Null);
            let admitted = token_of(&payload).is_some_and(|t| state.tokens.admits(t));
            if admitted {
                auth_connection.lock().authenticated = true;
            }
            async move {
                if admitted {
                    let _ = ack.send(&json!({"ok": true}));
                } else {
                    let why = "invalid token: send the daemon's token, as a string or {token}";
                    let _ = ack.send(&json!({"ok": false, "error": why}));
                    let _ = socket.emit("message", &Message::error(None, why));
                    let _ = socket.disconnect();
                }
            }
        },
    );
    for &event in Event::ALL {
        let connection = connection.clone();
        // Not an `async` closure: the part before `async move` runs as the event arrives,
        // in the client's order. Input is queued there, so keystrokes reach the terminal
        // in the order they were typed even though the handlers' tasks may run in any
        // order.
        socket.on(
            event.name(),
            move |socket: SocketRef,
                  TryData(payload): TryData<Value>,
                  ack: AckSender,
                  State(state): State<WebState>,
                  io: SocketIo| {
                let authenticated = connection.lock().authenticated;
                let payload = match payload {
                    Ok(Value::Null) | Err(_) => Value::Object(Default::default()),
                    Ok(value) => value,
                };
                let queued = (authenticated && event == Event::TerminalInput)
                    .then(|| streams::input(&state, payload.clone()));
                let connection = connection.clone();
                async move {
                    if !authenticated {
                        let why =
                            "authenticate first: send the auth event with the daemon's token";
                        let _ = socket.emit("message", &Message::error(None, why));
                        let _ = ack.send(&json!({"ok": false, "error": why}));
                        return;
                    }
                    let ctx = Ctx {
                        socket: socket.clone(),
                        state,
                        connection,
                        io,
                        acked: tokio::sync::watch::channel(false).0,
                    };
                    let name = event.name();
                    tracing::debug!(event = name, socket = %socket.id, "socket.io event");
                    let answer = match queued {
                        Some(answer) => answer,
                        None => event.handle(&ctx, payload).await,
                    };
                    tracing::debug!(event = name, socket = %socket.id, ok = answer.is_ok(), "socket.io event answered");
                    match answer {
                        Ok(mut value) => {
                            value["ok"] = json!(true);
                            let _ = ack.send(&value);
                            ctx.acked.send_replace(true);
                        }
                        Err(why) => {
                            let _ = socket.emit(
                                "message",
                                &Message::error(None, format!("{name}: {why}")),
                            );
                            let _ = ack.send(&json!({"ok": false, "error": why}));
                        }
                    }
                }
            },
        );
    }
    let connection_at_end = connection;
    socket.on_disconnect(async move |State(state): State<WebState>| {
        let mut inner = connection_at_end.lock();
        for (id, task) in inner.watching.drain() {
            task.abort();
            state.sessions.unwatch(&id);
        }
        if let Some(task) = inner.metrics.take() {
            task.abort();
        }
    });
}

/// Everything an event handler needs.
pub struct Ctx {
    /// The client.
    pub socket: SocketRef,
    /// The daemon's side.
    pub state: WebState,
    /// The client's state.
    pub connection: Connection,
    /// The whole socket.io server (rooms).
    pub io: SocketIo,
    /// Set once the event's ack is sent: forwarders wait for it, so a client always has
    /// the session id before the session's first message.
    acked: tokio::sync::watch::Sender<bool>,
}

/// An event's answer: the ack's fields, or why it was refused.
pub type Answer = Result<Value, String>;

impl Ctx {
    /// Resolves once this event's ack is sent (or the event failed): a forwarder that
    /// awaits it first never sends a session message before the ack naming the session.
    pub fn after_ack(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut acked = self.acked.subscribe();
        async move {
            let _ = acked.wait_for(|sent| *sent).await;
        }
    }

    /// Starts forwarding `session` to this client (replay, then live) unless it already
    /// watches it.
    pub fn watch(&self, id: &str, session: Arc<Session>) {
        let mut connection = self.connection.lock();
        if connection.watching.contains_key(id) {
            return;
        }
        self.state.sessions.watch(id);
        self.socket.join(id.to_owned());
        let mut acked = self.acked.subscribe();
        let socket = self.socket.clone();
        let id_owned = id.to_owned();
        let task = tokio::spawn(async move {
            // Dropped without an ack (a failed event): start anyway.
            let _ = acked.wait_for(|sent| *sent).await;
            forward(socket, id_owned, session).await;
        });
        connection
            .watching
            .insert(id.to_owned(), task.abort_handle());
    }

    /// Refuses a new watch when this client already follows [`MAX_LIVE_PER_CLIENT`]
    /// live sessions and log streams (finished ones do not count), so one client cannot
    /// start processes or followers without bound.
    pub fn room_for_one_more(&self) -> Result<(), String> {
        let live = self
            .connection
            .lock()
            .watching
            .values()
            .filter(|task| !task.is_finished())
            .count();
        if live >= MAX_LIVE_PER_CLIENT {
            return Err(format!(
                "this client already follows {live} live sessions and log streams, the most \
                 one client may: leave or kill some first (session:leave, session:kill)"
            ));
        }
        Ok(())
    }

    /// Stops forwarding `id` to this client; whether it watched it.
    pub fn unwatch(&self, id: &str) -> bool {
        let Some(task) = self.connection.lock().watching.remove(id) else {
            return false;
        };
        task.abort();
        self.socket.leave(id.to_owned());
        self.state.sessions.unwatch(id);
        true
    }

    /// Records a task (a log follower) as this client's watch of `id`.
    pub fn track(&self, id: &str, task: AbortHandle) {
        if let Some(old) = self.connection.lock().watching.insert(id.to_owned(), task) {
            old.abort();
        }
    }

    /// Ends this client's system-metrics subscription, if any.
    pub fn stop_metrics(&self) {
        if let Some(task) = self.connection.lock().metrics.take() {
            task.abort();
        }
    }

    /// Replaces this client's system-metrics subscription.
    pub fn set_metrics(&self, task: AbortHandle) {
        if let Some(old) = self.connection.lock().metrics.replace(task) {
            old.abort();
        }
    }
}

/// Sends one message; `false` when the client is gone. A full send buffer drops the
/// message (the client is too slow) and is reported once it drains.
fn send(socket: &SocketRef, message: &Message, dropped: &mut u64) -> bool {
    use socketioxide::{SendError, SocketError};
    match socket.emit("message", message) {
        Ok(()) => {
            if *dropped > 0 {
                let note = format!("this client was too slow: {dropped} messages were skipped");
                *dropped = 0;
                let _ = socket.emit(
                    "message",
                    &Message::error(message.session_id.as_deref(), note),
                );
            }
            true
        }
        Err(SendError::Socket(SocketError::InternalChannelFull)) => {
            *dropped += 1;
            true
        }
        Err(_) => false,
    }
}

async fn forward(socket: SocketRef, id: String, session: Arc<Session>) {
    let joined = session.join();
    let mut encoder = OutputEncoder::default();
    let mut dropped = 0;
    if !send(&socket, &Message::status(&id, &joined.status), &mut dropped) {
        return;
    }
    for chunk in &joined.replay {
        if !send(&socket, &encoder.encode(&id, chunk), &mut dropped) {
            return;
        }
    }
    if joined.status.state != "running" {
        return;
    }
    let mut live = joined.live;
    loop {
        match live.recv().await {
            Ok(event) => match &*event {
                SessionEvent::Output(chunk) => {
                    if !send(&socket, &encoder.encode(&id, chunk), &mut dropped) {
                        return;
                    }
                }
                SessionEvent::Status(status) => {
                    send(&socket, &Message::status(&id, status), &mut dropped);
                    if status.state != "running" {
                        return;
                    }
                }
            },
            Err(RecvError::Lagged(missed)) => {
                let note = format!("this client fell behind: skipped {missed} output batches");
                if !send(&socket, &Message::error(Some(&id), note), &mut dropped) {
                    return;
                }
            }
            Err(RecvError::Closed) => return,
        }
    }
}
