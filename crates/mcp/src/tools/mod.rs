//! The tool catalog ([`ToolName`], one table entry per tool) and the one place a call is
//! parsed, dispatched and turned into a tool result. Every failure, including malformed
//! arguments, comes back as a result with `isError: true` and a message that says what
//! went wrong and what to try.

pub(crate) mod managed;
mod system;

use std::sync::Arc;

use rmcp::model::{CallToolResult, ContentBlock, JsonObject, Tool, ToolAnnotations};
use rmcp::schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::args::{self, MAX_TEXT};
use crate::policy::Policy;
use procward_proto::client::Backend;

/// What a tool answers: a short text for the assistant, and the same facts as data.
#[derive(Debug)]
pub struct Answer {
    /// One or a few lines.
    pub summary: String,
    /// Structured content.
    pub data: Value,
}

/// Why a tool failed, in words an assistant can act on.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ToolError(pub String);

impl ToolError {
    /// A daemon answer that refused or failed, with a hint of what to try next.
    pub fn status(status: &tonic::Status, hint: &str) -> Self {
        use tonic::Code;
        let what = match status.code() {
            Code::NotFound => "not found",
            Code::InvalidArgument => "invalid argument",
            Code::FailedPrecondition => "refused",
            Code::AlreadyExists => "already exists",
            Code::PermissionDenied => "permission denied",
            Code::Unavailable => "the procward daemon is unavailable",
            _ => "failed",
        };
        let message = status.message();
        let mut text = format!("{what}: {message}");
        if !hint.is_empty() {
            text.push_str(". ");
            text.push_str(hint);
        }
        Self(text)
    }
}

/// A tool's result.
pub type Outcome = Result<Answer, ToolError>;

/// One entry of the catalog.
struct Spec {
    name: &'static str,
    title: &'static str,
    description: &'static str,
    schema: fn() -> Arc<JsonObject>,
    read_only: bool,
    destructive: bool,
    idempotent: bool,
}

/// The input schema of `T`, with optional fields typed plainly (`"integer"`, not
/// `["integer", "null"]`): they are optional by being absent from `required`, and clients
/// such as the MCP inspector only convert typed-in arguments for plain types.
fn schema<T: JsonSchema + 'static>() -> Arc<JsonObject> {
    let mut schema = (*rmcp::handler::server::common::schema_for_type::<T>()).clone();
    if let Some(Value::Object(properties)) = schema.get_mut("properties") {
        for property in properties.values_mut() {
            if let Some(Value::Array(types)) = property.get("type") {
                let plain: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
                if plain.len() == 1 {
                    property["type"] = plain[0].clone();
                }
            }
        }
    }
    Arc::new(schema)
}

/// Declares [`ToolName`] from the table: each tool's name, annotations, argument type and
/// handler in one entry, so adding a tool is one entry (plus its handler function).
macro_rules! tools {
    (($b:ident, $policy:ident, $args:ident)
     $($variant:ident {
        name: $name:literal,
        title: $title:literal,
        description: $description:literal,
        args: $ty:ty,
        read_only: $read_only:literal,
        destructive: $destructive:literal,
        idempotent: $idempotent:literal,
        run: $run:expr $(,)?
     })*) => {
        /// A tool of the catalog.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ToolName {
            $(#[doc = $title] $variant,)*
        }

        impl ToolName {
            /// Every tool, in the catalog's order.
            pub const ALL: &'static [ToolName] = &[$(ToolName::$variant,)*];

            /// The tool of this name.
            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    $($name => Some(ToolName::$variant),)*
                    _ => None,
                }
            }

            fn spec(self) -> Spec {
                match self {
                    $(ToolName::$variant => Spec {
                        name: $name,
                        title: $title,
                        description: $description,
                        schema: schema::<$ty>,
                        read_only: $read_only,
                        destructive: $destructive,
                        idempotent: $idempotent,
                    },)*
                }
            }

            /// Parses `raw` as the tool's arguments and runs it.
            async fn run(self, $b: Backend, $policy: &Policy, raw: Option<JsonObject>) -> Outcome {
                match self {
                    $(ToolName::$variant => {
                        let $args: $ty = parse($name, raw)?;
                        $run
                    })*
                }
            }
        }
    };
}

tools! {
    (b, policy, args)
    ListProcesses {
        name: "list_processes",
        title: "List managed processes",
        description: "List the processes procward supervises (started with start_process or the procward CLI): name, state, pid, restarts, uptime, CPU and memory. Use it to find a name for the other managed-process tools; for every process on the machine use list_system_processes.",
        args: args::NoArgs,
        read_only: true,
        destructive: false,
        idempotent: true,
        run: managed::list(b, args).await,
    }
    GetProcessStatus {
        name: "get_process_status",
        title: "Status of a managed process",
        description: "Everything about one managed process: state, pid, restarts, last exit code or signal, next scheduled restart, health, log files and its spec. Use it after start/stop/restart to check the outcome, or to see why a process failed.",
        args: args::NameArgs,
        read_only: true,
        destructive: false,
        idempotent: true,
        run: managed::status(b, args).await,
    }
    GetProcessLogs {
        name: "get_process_logs",
        title: "Recent output of a managed process",
        description: "The last lines of a managed process's stdout and/or stderr (default 50 lines, at most 500, and at most 16 KB; the answer says when it was cut). Use it to see why a process crashed or what a server printed.",
        args: args::LogsArgs,
        read_only: true,
        destructive: false,
        idempotent: true,
        run: managed::logs(b, args).await,
    }
    StartProcess {
        name: "start_process",
        title: "Start a managed process",
        description: "Register a long-running command under a name and start it; procward keeps its output (see get_process_logs) and restarts it per the restart policy (default always). Fails if the name exists: use restart_process, or stop_process then start again.",
        args: args::StartArgs,
        read_only: false,
        destructive: false,
        idempotent: false,
        run: managed::start(b, args).await,
    }
    StopProcess {
        name: "stop_process",
        title: "Stop a managed process",
        description: "Stop a managed process and its whole process group: its stop signal, then SIGKILL after its stop timeout. It stays registered (restart_process starts it again). Only for managed processes; for any other process use kill_process.",
        args: args::NameArgs,
        read_only: false,
        destructive: true,
        idempotent: true,
        run: managed::stop(b, args).await,
    }
    RestartProcess {
        name: "restart_process",
        title: "Restart a managed process",
        description: "Stop (if running) and start a managed process again, resetting its restart back-off. Use after changing files it reads, or to recover a failed process.",
        args: args::NameArgs,
        read_only: false,
        destructive: true,
        idempotent: false,
        run: managed::restart(b, args).await,
    }
    ListSystemProcesses {
        name: "list_system_processes",
        title: "List OS processes",
        description: "Every process on the machine, like ps/top: pid, name, user, CPU %, memory, threads, uptime, start_time and start_ticks. Returns the top 25 by CPU unless you filter (name, user), sort (cpu, mem, pid, name, uptime) or raise the limit, and says how many more matched. Pass a process's start_ticks to kill_process (expected_start_ticks) to be sure you kill that one.",
        args: args::ListSystemArgs,
        read_only: true,
        destructive: false,
        idempotent: true,
        run: system::list(b, args).await,
    }
    GetProcessInfo {
        name: "get_process_info",
        title: "One OS process",
        description: "Details of one process by pid: command line, user, status, CPU, memory, threads, uptime, start_time, start_ticks, and which managed process it is, if any.",
        args: args::PidArgs,
        read_only: true,
        destructive: false,
        idempotent: true,
        run: system::info(b, args).await,
    }
    GetSystemInfo {
        name: "get_system_info",
        title: "Machine figures",
        description: "CPU %, memory, root disk, temperatures, load, boot time and uptime of the machine. Use it to judge whether the machine is overloaded before acting on processes.",
        args: args::NoArgs,
        read_only: true,
        destructive: false,
        idempotent: true,
        run: system::machine(b, args).await,
    }
    ListPorts {
        name: "list_ports",
        title: "Listening ports",
        description: "Which process listens on which TCP port or holds which UDP port (like ss -ltnup or lsof -i). Filter by protocol or port; use it to find what occupies a port before kill_process with port.",
        args: args::PortsArgs,
        read_only: true,
        destructive: false,
        idempotent: true,
        run: system::ports(b, args).await,
    }
    KillProcess {
        name: "kill_process",
        title: "Kill a process or whoever holds a port",
        description: "Terminate a process by pid, or every process listening on a port: SIGTERM, then SIGKILL if it has not exited after timeout_seconds (default 5). Give expected_start_ticks (the start_ticks from list_system_processes or get_process_info) so a recycled pid is refused; expected_start_time (seconds) is coarser. pid 0, 1, negative pids, procward itself and its caller are always refused. A managed process (or its procward shim) is stopped through its supervisor (whole group, no automatic restart), by pid or by port.",
        args: args::KillArgs,
        read_only: false,
        destructive: true,
        idempotent: false,
        run: system::kill(b, policy, args).await,
    }
}

/// The tools this policy exposes.
pub fn catalog(policy: &Policy) -> Vec<Tool> {
    ToolName::ALL
        .iter()
        .map(|tool| tool.spec())
        .filter(|spec| spec.read_only || !policy.read_only)
        .map(|spec| {
            let annotations = ToolAnnotations::with_title(spec.title)
                .read_only(spec.read_only)
                .destructive(spec.destructive)
                .idempotent(spec.idempotent)
                .open_world(false);
            Tool::new(spec.name, spec.description, (spec.schema)())
                .with_title(spec.title)
                .with_annotations(annotations)
        })
        .collect()
}

/// Whether `name` is a tool of this policy.
pub fn exposed(policy: &Policy, name: &str) -> bool {
    ToolName::from_name(name).is_some_and(|tool| tool.spec().read_only || !policy.read_only)
}

/// Runs one tool call and shapes its result.
pub async fn call(
    backend: &Backend,
    policy: &Policy,
    name: &str,
    arguments: Option<JsonObject>,
) -> CallToolResult {
    let tool = ToolName::from_name(name).filter(|_| exposed(policy, name));
    let outcome = if let Some(tool) = tool {
        tool.run(backend.clone(), policy, arguments).await
    } else {
        let known = catalog(policy)
            .iter()
            .map(|t| t.name.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let why = if ToolName::from_name(name).is_some() {
            "is not available: this server is read-only (started with --read-only)"
        } else {
            "does not exist"
        };
        Err(ToolError(format!(
            "tool '{name}' {why}. Available tools: {known}"
        )))
    };
    match outcome {
        Ok(answer) => {
            let mut result = CallToolResult::success(vec![ContentBlock::text(answer.summary)]);
            result.structured_content = Some(answer.data);
            result
        }
        Err(e) => CallToolResult::error(vec![ContentBlock::text(e.0)]),
    }
}

/// Parses a tool's arguments, refusing oversized text first (so a huge string is named,
/// not echoed back).
fn parse<T: DeserializeOwned>(tool: &str, arguments: Option<JsonObject>) -> Result<T, ToolError> {
    let value = Value::Object(arguments.unwrap_or_default());
    if let Some((path, len)) = oversized(&value, "") {
        return Err(ToolError(format!(
            "invalid arguments for {tool}: '{path}' is {len} bytes long; at most {MAX_TEXT} are accepted"
        )));
    }
    serde_json::from_value(value).map_err(|e| {
        ToolError(format!(
            "invalid arguments for {tool}: {e}. See the tool's input schema for the fields and their types"
        ))
    })
}

fn oversized(value: &Value, path: &str) -> Option<(String, usize)> {
    match value {
        Value::String(s) if s.len() > MAX_TEXT => Some((path.to_owned(), s.len())),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| oversized(v, &format!("{path}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            if k.len() > MAX_TEXT {
                return Some((format!("{path}.<key>"), k.len()));
            }
            let child = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            oversized(v, &child)
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_only_hides_every_tool_that_acts() {
        let all = catalog(&Policy::default());
        assert_eq!(all.len(), 11);
        let reads = catalog(&Policy {
            read_only: true,
            ..Policy::default()
        });
        assert_eq!(reads.len(), 7);
        for tool in &reads {
            let notes = tool.annotations.as_ref().unwrap();
            assert_eq!(notes.read_only_hint, Some(true), "{}", tool.name);
        }
        for name in ["stop_process", "restart_process", "kill_process"] {
            let tool = all.iter().find(|t| t.name == name).unwrap();
            assert_eq!(
                tool.annotations.as_ref().unwrap().destructive_hint,
                Some(true)
            );
        }
    }

    #[test]
    fn every_tool_has_one_unique_name() {
        let mut seen = std::collections::HashSet::new();
        for tool in ToolName::ALL {
            let name = tool.spec().name;
            assert!(seen.insert(name), "{name} twice");
            assert_eq!(ToolName::from_name(name), Some(*tool));
        }
        assert_eq!(ToolName::from_name("rm_rf"), None);
    }

    #[test]
    fn optional_fields_have_plain_types() {
        let kill = catalog(&Policy::default())
            .into_iter()
            .find(|t| t.name == "kill_process")
            .unwrap();
        let properties = kill.input_schema["properties"].as_object().unwrap();
        assert_eq!(properties["pid"]["type"], "integer");
        assert_eq!(properties["signal"]["type"], "string");
        assert!(properties["pid"]["description"].is_string());
    }

    #[test]
    fn malformed_arguments_are_named() {
        let args: JsonObject = serde_json::from_str(r#"{"pid": "twelve"}"#).unwrap();
        let err = parse::<args::PidArgs>("get_process_info", Some(args)).unwrap_err();
        assert!(err.0.contains("invalid type"), "{err}");
        let err = parse::<args::PidArgs>("get_process_info", None).unwrap_err();
        assert!(err.0.contains("missing field `pid`"), "{err}");
        let huge: JsonObject =
            serde_json::from_value(serde_json::json!({"name": "x".repeat(100_000)})).unwrap();
        let err = parse::<args::NameArgs>("stop_process", Some(huge)).unwrap_err();
        assert!(err.0.contains("'name' is 100000 bytes"), "{err}");
        assert!(err.0.len() < 200);
    }
}
