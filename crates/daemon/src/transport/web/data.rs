//! The dashboard's data events: each payload parsed into a typed request first (pure, so
//! the property tests can throw anything at it), then one engine call, with the answer as
//! JSON in the proto's field names.

use procward_core::supervisor::spec::{ProcessSpec, command_from_string};
use procward_proto::convert::system::{port_to_proto, process_to_proto, system_to_proto};
use procward_proto::convert::view_to_proto;
use serde::Deserialize;
use serde_json::{Value, json};

use super::events::Event;
use super::parse;
use super::payloads::ProbeArgs;
use super::socket::Answer;
use crate::engine::Engine;
use crate::engine::audit::{Caller, Interface, Peer, PeerAddr};
use crate::engine::kills::{KillOrder, KillReport};
use crate::engine::system::ListQuery;

fn json_of<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ListArgs {
    sort: Option<String>,
    name: Option<String>,
    user: Option<String>,
    limit: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KillArgs {
    pid: i64,
    /// Unix seconds (coarse; kept for older pages).
    #[serde(rename = "expectedStartTime")]
    expected_start_time: Option<u64>,
    /// Clock ticks since boot, as the row's `start_ticks`: the exact identity check.
    #[serde(rename = "expectedStartTicks")]
    expected_start_ticks: Option<u64>,
    #[serde(default)]
    force: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PortArgs {
    port: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StartArgs {
    name: String,
    command: String,
    limits: Option<super::payloads::LimitArgs>,
    #[serde(default)]
    timestamps: bool,
    #[serde(default)]
    watch: Vec<String>,
    #[serde(default, rename = "watchIgnore")]
    watch_ignore: Vec<String>,
    #[serde(rename = "cronRestart")]
    cron_restart: Option<String>,
    /// Replicas (1-256; checked by the daemon).
    instances: Option<u32>,
    #[serde(default, rename = "successExitCodes")]
    success_exit_codes: Vec<i32>,
    health: Option<ProbeArgs>,
    readiness: Option<ProbeArgs>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionArgs {
    name: String,
    action: String,
    /// `scale`'s new count.
    instances: Option<u32>,
}

/// What a managed-process action event asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Stop it (no restart).
    Stop,
    /// Stop and start it again.
    Restart,
    /// Stop it and forget it.
    Delete,
    /// Empty its logs (it keeps running).
    Flush,
    /// Zero-downtime restart (every replica in turn).
    Reload,
    /// Set the number of replicas.
    Scale(u32),
}

/// A data event's request, parsed and shape-checked; ranges are the engine's to check.
#[derive(Debug)]
pub enum DataRequest {
    /// `system:info`.
    SystemInfo,
    /// `processes:list`.
    Processes(ListArgs),
    /// `process:kill`.
    Kill(KillArgs),
    /// `ports:list`.
    Ports,
    /// `port:kill`.
    KillPort(u32),
    /// `managed:list`.
    Managed,
    /// `managed:start`: a name and its command line, split like a shell would.
    Start(Box<ProcessSpec>),
    /// `managed:action`.
    Act(String, Action),
}

impl DataRequest {
    /// Parses `payload` as `event`'s request, or says what is wrong with it. Pure.
    pub fn parse(event: Event, payload: Value) -> Result<Self, String> {
        Ok(match event {
            Event::SystemInfo => Self::SystemInfo,
            Event::ProcessesList => Self::Processes(parse(payload)?),
            Event::ProcessKill => Self::Kill(parse(payload)?),
            Event::PortsList => Self::Ports,
            Event::PortKill => Self::KillPort(parse::<PortArgs>(payload)?.port),
            Event::ManagedList => Self::Managed,
            Event::ManagedStart => {
                let StartArgs {
                    name,
                    command,
                    limits,
                    timestamps,
                    watch,
                    watch_ignore,
                    cron_restart,
                    instances,
                    success_exit_codes,
                    health,
                    readiness,
                } = parse(payload)?;
                let argv = command_from_string(&command).map_err(|e| e.to_string())?;
                let mut spec = ProcessSpec::new(name, argv);
                spec.logs.timestamps = timestamps;
                spec.watch = watch;
                spec.watch_ignore = watch_ignore;
                spec.cron_restart = cron_restart;
                spec.instances = instances.unwrap_or(1);
                spec.success_exit_codes = success_exit_codes;
                spec.health = health.map(|h| h.parse("health")).transpose()?;
                spec.readiness = readiness.map(|r| r.parse("readiness")).transpose()?;
                if let Some(limits) = limits {
                    spec.limits = limits.parse()?;
                }
                Self::Start(Box::new(spec))
            }
            Event::ManagedAction => {
                let ActionArgs {
                    name,
                    action,
                    instances,
                } = parse(payload)?;
                let action = match (action.as_str(), instances) {
                    ("scale", Some(n)) => Action::Scale(n),
                    ("scale", None) => {
                        return Err("instances: scale needs the number of replicas (1-256)".into());
                    }
                    (other, Some(_)) => {
                        return Err(format!("instances: only scale takes it, not {other}"));
                    }
                    ("stop", None) => Action::Stop,
                    ("restart", None) => Action::Restart,
                    ("delete", None) => Action::Delete,
                    ("flush", None) => Action::Flush,
                    ("reload", None) => Action::Reload,
                    (other, None) => {
                        return Err(format!(
                            "unknown action '{other}': use stop, restart, reload, scale, delete \
                             or flush"
                        ));
                    }
                };
                Self::Act(name, action)
            }
            other => return Err(format!("'{}' is not a data event", other.name())),
        })
    }

    /// Runs the request on `engine` for `caller` (destructive ones are audited).
    pub async fn run(self, engine: &Engine, caller: &Caller) -> Answer {
        let e = |e: crate::engine::EngineError| e.to_string();
        let s = |e: crate::engine::SupervisorError| e.to_string();
        match self {
            Self::SystemInfo => {
                let sample = engine.system_info().await.map_err(e)?;
                let info = system_to_proto(&sample.value, sample.taken_unix_ms);
                Ok(json!({"info": json_of(&info)}))
            }
            Self::Processes(args) => {
                let query = ListQuery {
                    sort: args.sort,
                    user: args.user,
                    name: args.name,
                    limit: args.limit,
                };
                let listing = engine.processes(query).await.map_err(e)?;
                let rows: Vec<_> = listing
                    .processes
                    .iter()
                    .map(|(p, name)| process_to_proto(p, name.as_deref()))
                    .collect();
                Ok(json!({"processes": json_of(&rows), "total": listing.total}))
            }
            Self::Kill(args) => {
                let order = KillOrder {
                    pid: args.pid,
                    expected_start_time: args.expected_start_time,
                    expected_start_ticks: args.expected_start_ticks,
                    force: args.force,
                    ..KillOrder::default()
                };
                report(engine.kill(caller, order).await.map_err(e)?)
            }
            Self::Ports => {
                let ports = engine.ports("", 0).await.map_err(e)?;
                let rows: Vec<_> = ports.iter().map(port_to_proto).collect();
                Ok(json!({"ports": json_of(&rows)}))
            }
            Self::KillPort(port) => report(
                engine
                    .kill_port(caller, port, "", false, None)
                    .await
                    .map_err(e)?,
            ),
            Self::Managed => {
                let views = engine.supervisor().list().await.map_err(s)?;
                let rows: Vec<_> = views.iter().map(view_to_proto).collect();
                Ok(json!({"processes": json_of(&rows)}))
            }
            Self::Start(spec) => {
                // Validated by the supervisor's one check, like every start; a set's
                // replicas are all registered (or none) by then.
                let base = spec.name.clone();
                let supervisor = engine.supervisor();
                let view = supervisor
                    .start(*spec, false)
                    .await
                    .map_err(|e| wire_fields(e.to_string()))?;
                // Started already: a set changed meanwhile still answers with the start.
                let views = match supervisor.status_all(&base).await {
                    Ok(views) => views,
                    Err(_) => vec![view.clone()],
                };
                Ok(json!({
                    "process": json_of(&view_to_proto(&view)),
                    "processes": views_json(&views),
                }))
            }
            Self::Act(name, action) => {
                let view = match action {
                    Action::Stop => engine.stop(caller, &name).await,
                    Action::Restart => engine.restart(caller, &name).await,
                    Action::Delete => {
                        engine.delete(caller, &name).await.map_err(s)?;
                        return Ok(json!({}));
                    }
                    Action::Flush => {
                        let removed = engine
                            .flush_logs(caller, &name)
                            .await
                            .map_err(|e| e.to_string())?;
                        return Ok(json!({"bytesRemoved": removed}));
                    }
                    Action::Reload => {
                        let views = engine.reload(caller, &name).await.map_err(s)?;
                        return Ok(json!({"processes": views_json(&views)}));
                    }
                    Action::Scale(instances) => {
                        let views = engine.scale(caller, &name, instances).await.map_err(s)?;
                        return Ok(json!({"processes": views_json(&views)}));
                    }
                };
                Ok(json!({"process": json_of(&view_to_proto(&view.map_err(s)?))}))
            }
        }
    }
}

/// A socket.io client as the audit log names it: its TCP peer (from the HTTP request
/// that opened the socket), claiming to be the dashboard when the page's own script opened
/// it (`?client=dashboard` in the handshake; a claim, not verified).
pub fn caller_of(parts: &http::request::Parts) -> Caller {
    let who = parts
        .extensions
        .get::<PeerAddr>()
        .map_or(Peer::Daemon, |PeerAddr(addr)| Peer::Addr(*addr));
    let dashboard = parts
        .uri
        .query()
        .is_some_and(|q| q.split('&').any(|kv| kv == "client=dashboard"));
    if dashboard {
        Caller::new(Interface::Dashboard, who).claiming(Some("dashboard"))
    } else {
        Caller::new(Interface::SocketIo, who)
    }
}

fn views_json(views: &[procward_core::supervisor::view::ManagedView]) -> Value {
    Value::Array(views.iter().map(|v| json_of(&view_to_proto(v))).collect())
}

/// A spec error names the field as procward.toml spells it (`success_exit_codes: ...`);
/// this payload's own key leads where it is spelled differently.
fn wire_fields(message: String) -> String {
    const KEYS: [(&str, &str); 3] = [
        ("success_exit_codes", "successExitCodes"),
        ("cron_restart", "cronRestart"),
        ("watch_ignore", "watchIgnore"),
    ];
    for (field, key) in KEYS {
        if let Some(rest) = message
            .strip_prefix(field)
            .and_then(|r| r.strip_prefix(": "))
        {
            return format!("{key}: {rest}");
        }
    }
    message
}

fn report(report: KillReport) -> Answer {
    if report.success {
        Ok(json!({"message": report.message}))
    } else {
        Err(report
            .failure
            .map(|f| f.message)
            .unwrap_or_else(|| "failed".into()))
    }
}
