//! The catalog: every tool's name, annotations, argument type and handler, in one table
//! ([`ToolName`]).

use std::sync::Arc;

use rmcp::model::JsonObject;
use rmcp::schemars::JsonSchema;
use serde_json::Value;

use super::{Outcome, audit, managed, parse, queue, system};
use crate::args;
use crate::policy::Policy;
use procward_proto::client::Backend;

/// One entry of the catalog.
pub(super) struct Spec {
    pub(super) name: &'static str,
    pub(super) title: &'static str,
    pub(super) description: &'static str,
    pub(super) schema: fn() -> Arc<JsonObject>,
    pub(super) read_only: bool,
    pub(super) destructive: bool,
    pub(super) idempotent: bool,
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

            pub(super) fn spec(self) -> Spec {
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
            pub(super) async fn run(self, $b: Backend, $policy: &Policy, raw: Option<JsonObject>) -> Outcome {
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
        description: "Everything about one managed process: state, pid, restarts, last exit code or signal, next scheduled restart, health, log files, its spec, and metrics while it runs (metrics: its own CPU, memory, open_fds, io_read_bytes/io_write_bytes (storage) and io_rchar/io_wchar (system calls), cpu_user_ms/cpu_system_ms, threads; tree: the same summed over it and all its descendants; null where unreadable). Use it after start/stop/restart to check the outcome, or to see why a process failed.",
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
    ReloadProcess {
        name: "reload_process",
        title: "Restart a managed process without downtime",
        description: "Start a new instance of a managed process, wait until it is ready (its readiness check, or its health check), then stop the old one; a set of replicas is replaced one at a time. If the new instance fails or is not ready in time it is stopped and the old one keeps running. Needs a readiness or health check (start_process with readiness); use restart_process otherwise.",
        args: args::NameArgs,
        read_only: false,
        destructive: true,
        idempotent: false,
        run: managed::reload(b, args).await,
    }
    ScaleProcess {
        name: "scale_process",
        title: "Set the number of replicas",
        description: "Run N replicas (1-256) of a managed process, named NAME:0 to NAME:N-1: missing ones are started and waited for until ready before surplus ones (highest index first) are stopped and deleted. stop_process, restart_process and reload_process on NAME act on every replica.",
        args: args::ScaleArgs,
        read_only: false,
        destructive: true,
        idempotent: true,
        run: managed::scale(b, args).await,
    }
    AuditLog {
        name: "audit_log",
        title: "Audit log of destructive actions",
        description: "Who killed, stopped, restarted, deleted or signalled what, and how it ended: the daemon's audit log, oldest first (default the newest 50, at most 500; since_minutes for recent ones). Each entry: time, interface (cli, grpc, mcp, socketio, dashboard, limits), caller (uid:N, addr:IP:PORT, mcp:CLIENT, daemon), client (a claimed name), action, target (pid with start_ticks, or name, port, job), result (ok, failed, refused, error) and message. Read-only.",
        args: args::AuditArgs,
        read_only: true,
        destructive: false,
        idempotent: true,
        run: audit::list(b, args).await,
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
        description: "Details of one process by pid: command line, user, status, CPU, memory, threads, uptime, start_time, start_ticks, open_fds, io_read_bytes/io_write_bytes/io_rchar/io_wchar, cpu_user_ms/cpu_system_ms (null where the kernel refuses, e.g. another user's process), and which managed process it is, if any.",
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
    QueueAdd {
        name: "queue_add",
        title: "Queue a job",
        description: "Queue a one-off command as a background job and return its id at once: it runs when its group has a free slot (by priority, then first come), after an optional delay and after the jobs in `after`, and is retried per `attempts`/`backoff` until it exits 0; `timeout_seconds` bounds each attempt; memory_max/cpu_max/pids_max bound each attempt's process tree (on_breach: restart fails the attempt and retries, stop fails the job, notify records it). Follow it with queue_status, read its output with queue_logs. For a long-running server use start_process instead.",
        args: args::QueueAddArgs,
        read_only: false,
        destructive: false,
        idempotent: false,
        run: queue::add(b, args).await,
    }
    QueueList {
        name: "queue_list",
        title: "List queued jobs",
        description: "The jobs of procward's queue (the newest 50 unless you raise limit), optionally of one group or some states (queued, delayed, running, completed, failed, cancelled): id, state, group, priority, command, attempts made, exit code, reason. Says how many matched in each state.",
        args: args::QueueListArgs,
        read_only: true,
        destructive: false,
        idempotent: true,
        run: queue::list(b, args).await,
    }
    QueueStatus {
        name: "queue_status",
        title: "Status of a job",
        description: "One job by id: its state, spec (group, priority, command, cwd, attempts, backoff, timeout, dependencies, labels) and every attempt (pid, start and end, exit code or signal, timed out, the limit it breached), its limits with how each is enforced (cgroup or poll) and the last limit_breach. Poll it after queue_add until the state is completed, failed or cancelled.",
        args: args::JobArgs,
        read_only: true,
        destructive: false,
        idempotent: true,
        run: queue::status(b, args).await,
    }
    QueueLogs {
        name: "queue_logs",
        title: "Output of a job",
        description: "The last lines of a job's stdout and/or stderr, of its latest attempt or the one you name (default 50 lines, at most 500, and at most 16 KB; the answer says when it was cut). Use it to see what a job printed or why it failed.",
        args: args::QueueLogsArgs,
        read_only: true,
        destructive: false,
        idempotent: true,
        run: queue::logs(b, args).await,
    }
    QueueCancel {
        name: "queue_cancel",
        title: "Cancel a job",
        description: "Cancel a job that is queued, delayed or running: a running one gets SIGTERM to its whole process group, SIGKILL after 5 s, and the answer comes once it has ended. Refused for a job that has already ended. queue_retry queues a cancelled job again.",
        args: args::JobArgs,
        read_only: false,
        destructive: true,
        idempotent: true,
        run: queue::cancel(b, args).await,
    }
    QueueRetry {
        name: "queue_retry",
        title: "Retry a job",
        description: "Queue a failed or cancelled job again, with its full number of attempts; its earlier attempts and their logs are kept. Refused for a job that is queued, running or completed.",
        args: args::JobArgs,
        read_only: false,
        destructive: false,
        idempotent: false,
        run: queue::retry(b, args).await,
    }
}
