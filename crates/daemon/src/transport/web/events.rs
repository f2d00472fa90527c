//! Every socket.io event a client may send once authenticated (`web/PROTOCOL.md`), each
//! with its name and its handler in the one table below: adding an event is one entry
//! here (plus its handler function and its line in the protocol document).

use serde_json::{Value, json};

use super::data::DataRequest;
use super::socket::{Answer, Ctx};
use super::{queue, streams};

/// Declares [`Event`] from the table: its variants, wire names and handlers.
macro_rules! events {
    (($ctx:ident, $payload:ident)
     $($(#[doc = $doc:literal])* $variant:ident = $name:literal => $handler:expr;)*) => {
        /// An event of the protocol.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Event {
            $($(#[doc = $doc])* $variant,)*
        }

        impl Event {
            /// Every event, in the table's order.
            pub const ALL: &'static [Event] = &[$(Event::$variant,)*];

            /// The event's name on the wire.
            pub fn name(self) -> &'static str {
                match self {
                    $(Event::$variant => $name,)*
                }
            }

            /// The event of this wire name.
            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    $($name => Some(Event::$variant),)*
                    _ => None,
                }
            }

            /// Answers the event.
            pub async fn handle(self, $ctx: &Ctx, $payload: Value) -> Answer {
                match self {
                    $(Event::$variant => $handler,)*
                }
            }
        }
    };
}

/// A data event: parse, then one engine call.
async fn data(event: Event, ctx: &Ctx, payload: Value) -> Answer {
    let caller = super::data::caller_of(ctx.socket.req_parts());
    DataRequest::parse(event, payload)?
        .run(&ctx.state.engine, &caller)
        .await
}

events! {
    (ctx, payload)
    /// Starts a session (a command with its output streamed, or a terminal).
    SessionCreate = "session:create" => streams::create(ctx, payload).await;
    /// Watches a session: its replay, then the live stream.
    SessionJoin = "session:join" => streams::join(ctx, payload);
    /// Stops watching a session.
    SessionLeave = "session:leave" => streams::leave(ctx, payload);
    /// Ends a session's process (TERM, then KILL).
    SessionKill = "session:kill" => streams::kill(ctx, payload);
    /// Every live session.
    SessionList = "session:list" => Ok(json!({"sessions": ctx.state.sessions.list()}));
    /// A one-off command, or a line typed into a terminal session.
    CommandExecute = "command:execute" => streams::execute(ctx, payload).await;
    /// Keystrokes or stdin (queued as the event arrives; see `socket::on_connect`).
    TerminalInput = "terminal:input" => streams::input(&ctx.state, payload);
    /// A terminal's new size.
    TerminalResize = "terminal:resize" => streams::resize(ctx, payload).await;
    /// Follows a managed process's logs as a session.
    LogsJoin = "logs:join" => streams::logs(ctx, payload).await;
    /// System figures every interval.
    MetricsSubscribe = "metrics:subscribe" => streams::metrics(ctx, payload);
    /// Stops the system figures.
    MetricsUnsubscribe = "metrics:unsubscribe" => {
        let _ = payload;
        ctx.stop_metrics();
        Ok(json!({}))
    };
    /// The machine's figures now.
    SystemInfo = "system:info" => data(Event::SystemInfo, ctx, payload).await;
    /// Every OS process (sorted, filtered, limited).
    ProcessesList = "processes:list" => data(Event::ProcessesList, ctx, payload).await;
    /// Kills one pid under the kill policy.
    ProcessKill = "process:kill" => data(Event::ProcessKill, ctx, payload).await;
    /// Listening ports with their processes.
    PortsList = "ports:list" => data(Event::PortsList, ctx, payload).await;
    /// Kills what listens on a port, under the kill policy.
    PortKill = "port:kill" => data(Event::PortKill, ctx, payload).await;
    /// Managed processes.
    ManagedList = "managed:list" => data(Event::ManagedList, ctx, payload).await;
    /// Starts a managed process from a name and a command line.
    ManagedStart = "managed:start" => data(Event::ManagedStart, ctx, payload).await;
    /// Stops, restarts, reloads, scales, deletes or flushes a managed process (or set).
    ManagedAction = "managed:action" => data(Event::ManagedAction, ctx, payload).await;
    /// Jobs of the queue (by group, by state).
    QueueList = "queue:list" => queue::list(ctx, payload).await;
    /// Queues a job.
    QueueAdd = "queue:add" => queue::add(ctx, payload).await;
    /// Cancels a job (a running one's tree gets TERM, then KILL).
    QueueCancel = "queue:cancel" => queue::cancel_or_retry(ctx, payload, true).await;
    /// Queues a failed or cancelled job again.
    QueueRetry = "queue:retry" => queue::cancel_or_retry(ctx, payload, false).await;
    /// The queue's groups.
    QueueGroups = "queue:groups" => queue::groups(ctx, payload, None).await;
    /// The daemons on the queue (just this one with the embedded queue).
    QueueHosts = "queue:hosts" => queue::hosts(ctx, payload).await;
    /// Starts no new job in a group (or every group).
    QueuePause = "queue:pause" => queue::groups(ctx, payload, Some(true)).await;
    /// Starts jobs again in a group (or every group).
    QueueResume = "queue:resume" => queue::groups(ctx, payload, Some(false)).await;
    /// Every job change from now on, as `job` messages.
    QueueSubscribe = "queue:subscribe" => queue::subscribe(ctx, payload);
    /// Stops the job messages.
    QueueUnsubscribe = "queue:unsubscribe" => queue::unsubscribe(ctx, payload);
    /// Follows one job's output and status as session `job:ID`.
    JobJoin = "job:join" => queue::join(ctx, payload).await;
    /// The newest entries of the audit log (read-only).
    AuditList = "audit:list" => audit_list(ctx, payload).await;
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct AuditArgs {
    #[serde(default, rename = "sinceMs")]
    since_ms: u64,
    #[serde(default)]
    limit: Option<usize>,
}

/// `audit:list`: `{sinceMs?, limit? (default 100, at most 1000)}` → `{entries}`.
async fn audit_list(ctx: &Ctx, payload: Value) -> Answer {
    let args: AuditArgs = if payload.is_null() {
        AuditArgs::default()
    } else {
        super::parse(payload)?
    };
    let limit = args.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(format!("limit must be between 1 and 1000 (got {limit})"));
    }
    let listing = ctx
        .state
        .engine
        .audit()
        .read(args.since_ms, limit)
        .await
        .map_err(|e| format!("cannot read the audit log: {e}"))?;
    Ok(json!({"entries": listing.entries}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for event in Event::ALL {
            assert!(seen.insert(event.name()), "{} twice", event.name());
            assert_eq!(Event::from_name(event.name()), Some(*event));
        }
        assert_eq!(
            Event::from_name("auth"),
            None,
            "auth is handled before the table"
        );
        assert_eq!(Event::from_name("no:such-event"), None);
    }

    #[test]
    fn the_protocol_document_lists_every_event() {
        let protocol = include_str!("../../../../../web/PROTOCOL.md");
        for event in Event::ALL {
            assert!(
                protocol.contains(&format!("`{}`", event.name())),
                "web/PROTOCOL.md does not document `{}`",
                event.name()
            );
        }
    }
}
