//! The dashboard's data events: thin calls to the daemon's gRPC API (in-process), with
//! the answers as JSON in the proto's field names.

use procward_proto::client::Backend;
use procward_proto::v1;
use serde::Deserialize;
use serde_json::{Value, json};

use super::socket::Answer;
use super::{WebState, parse};

fn status(s: tonic::Status) -> String {
    s.message().to_owned()
}

fn json_of<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ListArgs {
    sort: Option<String>,
    name: Option<String>,
    user: Option<String>,
    limit: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KillArgs {
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PortArgs {
    port: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StartArgs {
    name: String,
    command: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionArgs {
    name: String,
    action: String,
}

fn action_result(result: v1::ActionResult) -> Answer {
    if result.success {
        Ok(json!({"message": result.message}))
    } else {
        Err(result
            .error
            .map(|e| e.message)
            .unwrap_or_else(|| "failed".into()))
    }
}

/// Answers one data event.
pub async fn dispatch(event: &str, state: &WebState, payload: Value) -> Answer {
    let Backend {
        mut supervisor,
        mut manager,
        mut ports,
    } = state.backend.clone();
    match event {
        "system:info" => {
            let info = manager
                .get_system_info(v1::GetSystemInfoRequest {})
                .await
                .map_err(status)?;
            Ok(json!({"info": json_of(&info.into_inner())}))
        }
        "processes:list" => {
            let args: ListArgs = parse(payload)?;
            let request = v1::ListProcessesRequest {
                name: args.name,
                user: args.user,
                sort: args.sort,
                limit: args.limit,
            };
            let answer = manager
                .list_processes(request)
                .await
                .map_err(status)?
                .into_inner();
            Ok(json!({"processes": json_of(&answer.processes), "total": answer.total}))
        }
        "process:kill" => {
            let args: KillArgs = parse(payload)?;
            let pid = u32::try_from(args.pid)
                .map_err(|_| format!("refusing pid {}: not a single process", args.pid))?;
            let request = v1::KillProcessRequest {
                pid,
                expected_start_time: args.expected_start_time,
                expected_start_ticks: args.expected_start_ticks,
                force: args.force,
                ..Default::default()
            };
            action_result(
                manager
                    .kill_process(request)
                    .await
                    .map_err(status)?
                    .into_inner(),
            )
        }
        "ports:list" => {
            let answer = ports
                .list_ports(v1::ListPortsRequest::default())
                .await
                .map_err(status)?
                .into_inner();
            Ok(json!({"ports": json_of(&answer.ports)}))
        }
        "port:kill" => {
            let PortArgs { port } = parse(payload)?;
            let request = v1::KillPortRequest {
                port,
                ..Default::default()
            };
            action_result(ports.kill_port(request).await.map_err(status)?.into_inner())
        }
        "managed:list" => {
            let answer = supervisor
                .list(v1::ListRequest {})
                .await
                .map_err(status)?
                .into_inner();
            Ok(json!({"processes": json_of(&answer.processes)}))
        }
        "managed:start" => {
            let StartArgs { name, command } = parse(payload)?;
            let argv = procward_core::supervisor::spec::command_from_string(&command)
                .map_err(|e| e.to_string())?;
            // Validated by the daemon's one check (the facade), like every start.
            let spec = procward_core::supervisor::spec::ProcessSpec::new(name, argv);
            let request = v1::StartRequest {
                spec: Some(procward_proto::convert::spec_to_proto(&spec)),
                replace: false,
            };
            let process = supervisor
                .start(request)
                .await
                .map_err(status)?
                .into_inner();
            Ok(json!({"process": json_of(&process)}))
        }
        "managed:action" => {
            let ActionArgs { name, action } = parse(payload)?;
            let request = v1::NameRequest { name };
            let process = match action.as_str() {
                "stop" => supervisor.stop(request).await,
                "restart" => supervisor.restart(request).await,
                "delete" => {
                    supervisor.delete(request).await.map_err(status)?;
                    return Ok(json!({}));
                }
                other => {
                    return Err(format!(
                        "unknown action '{other}': use stop, restart or delete"
                    ));
                }
            };
            Ok(json!({"process": json_of(&process.map_err(status)?.into_inner())}))
        }
        other => Err(format!("unknown event '{other}'")),
    }
}
