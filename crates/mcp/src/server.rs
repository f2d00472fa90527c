//! The MCP handler: tools (see [`crate::tools`]) and each managed process's recent log
//! as a resource (`procward://logs/NAME`) that a client can read or subscribe to.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use procward_proto::v1;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, Implementation, ListResourcesResult, ListToolsResult,
    PaginatedRequestParams, ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult,
    Resource, ResourceContents, ResourceUpdatedNotificationParam, ServerCapabilities, ServerConfig,
    SubscribeRequestParams, UnsubscribeRequestParams,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};

use crate::policy::Policy;
use crate::summary::{STDERR_TAG, cap_lines};
use crate::tools::{
    self,
    managed::{HEADER_ROOM, MAX_LOG_BYTES},
};
use procward_proto::client::Backend;

/// Prefix of the log resources' URIs.
const LOG_URI: &str = "procward://logs/";
/// Lines a log resource shows.
const RESOURCE_LINES: u32 = 200;
/// How often a subscribed log is checked for new output.
const WATCH_EVERY: Duration = Duration::from_millis(500);

const INSTRUCTIONS: &str = "procward sees and controls the processes of this machine. \
Managed processes (start_process, stop_process, restart_process, list_processes, \
get_process_status, get_process_logs) are supervised by name and restarted per policy; \
reload_process replaces one without downtime and scale_process runs N replicas NAME:0... \
System tools (list_system_processes, get_process_info, get_system_info, list_ports, \
kill_process) cover every process. Before kill_process, look the process up and pass its \
start_ticks as expected_start_ticks. The job queue runs one-off commands in the \
background, with groups, priorities, delays, dependencies, retries and timeouts: \
queue_add returns a job id at once; poll queue_status until the job is completed, failed \
or cancelled, read its output with queue_logs; queue_list, queue_cancel and queue_retry \
manage the rest. Each managed process's log is also a resource, procward://logs/NAME.";

/// One MCP session's handler; cheap to clone.
#[derive(Debug, Clone)]
pub struct ProcwardMcp {
    backend: Backend,
    policy: Policy,
    watches: Arc<Mutex<HashMap<String, tokio::task::AbortHandle>>>,
}

impl ProcwardMcp {
    /// A handler that reaches the daemon through `backend`, within `policy`.
    pub fn new(backend: Backend, policy: Policy) -> Self {
        Self {
            backend,
            policy,
            watches: Arc::default(),
        }
    }

    async fn log_view(&self, uri: &str) -> Result<v1::ManagedProcess, McpError> {
        let name = uri.strip_prefix(LOG_URI).unwrap_or_default();
        if name.is_empty() {
            return Err(McpError::resource_not_found(
                format!("unknown resource '{uri}': log resources are {LOG_URI}NAME"),
                None,
            ));
        }
        let mut supervisor = self.backend.supervisor.clone();
        supervisor
            .status(v1::NameRequest { name: name.into() })
            .await
            .map(tonic::Response::into_inner)
            .map_err(|s| McpError::resource_not_found(format!("{uri}: {}", s.message()), None))
    }
}

impl Drop for ProcwardMcp {
    fn drop(&mut self) {
        // The last clone of a session stops its log watchers.
        if Arc::strong_count(&self.watches) == 1 {
            for (_, watch) in self
                .watches
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .drain()
            {
                watch.abort();
            }
        }
    }
}

/// `backend`, naming this session to the daemon for its audit log: `x-procward-client:
/// mcp` and the client's name from its `initialize` request in `x-procward-mcp-client`
/// (cut to 64 characters; a name that is not a valid header value is sent as `unknown`).
fn labelled(backend: &Backend, client: Option<&str>) -> Backend {
    let name: String = client.unwrap_or("unknown").chars().take(64).collect();
    let name = http::HeaderValue::from_str(&name)
        .unwrap_or_else(|_| http::HeaderValue::from_static("unknown"));
    backend.with_headers(vec![
        (
            http::HeaderName::from_static("x-procward-client"),
            http::HeaderValue::from_static("mcp"),
        ),
        (http::HeaderName::from_static("x-procward-mcp-client"), name),
    ])
}

/// Sum of the log files' sizes: grows whenever the process writes.
fn log_size(view: &v1::ManagedProcess) -> u64 {
    [&view.stdout_log, &view.stderr_log]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}

impl ServerHandler for ProcwardMcp {
    fn get_info(&self) -> ServerConfig {
        let capabilities = ServerCapabilities::builder()
            .enable_tools()
            .enable_resources()
            .enable_resources_subscribe()
            .build();
        ServerConfig::new(capabilities)
            .with_server_info(Implementation::new("procward", env!("CARGO_PKG_VERSION")))
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _: Option<PaginatedRequestParams>,
        _: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(tools::catalog(
            &self.policy,
        )))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let client = context
            .peer
            .peer_info()
            .map(|info| info.client_info.name.clone());
        let backend = labelled(&self.backend, client.as_deref());
        let result = tools::call(&backend, &self.policy, &request.name, request.arguments).await;
        Ok(result.into())
    }

    async fn list_resources(
        &self,
        _: Option<PaginatedRequestParams>,
        _: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        let mut supervisor = self.backend.supervisor.clone();
        let processes = supervisor
            .list(v1::ListRequest::default())
            .await
            .map_err(|s| McpError::internal_error(s.message().to_owned(), None))?
            .into_inner()
            .processes;
        let resources = processes
            .iter()
            .map(|p| {
                Resource::new(format!("{LOG_URI}{}", p.name), format!("{} log", p.name))
                    .with_description(format!(
                        "Last {RESOURCE_LINES} lines of stdout and stderr of managed process '{}' ({})",
                        p.name,
                        p.state().wire_name()
                    ))
                    .with_mime_type("text/plain")
            })
            .collect();
        Ok(ListResourcesResult::with_all_items(resources))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let view = self.log_view(&request.uri).await?;
        let mut supervisor = self.backend.supervisor.clone();
        let mut stream = supervisor
            .logs(v1::LogsRequest {
                name: view.name.clone(),
                lines: RESOURCE_LINES,
                ..Default::default()
            })
            .await
            .map_err(|s| McpError::internal_error(s.message().to_owned(), None))?
            .into_inner();
        let mut lines = Vec::new();
        while let Some(line) = stream
            .message()
            .await
            .map_err(|s| McpError::internal_error(s.message().to_owned(), None))?
        {
            lines.push((
                line.stream(),
                String::from_utf8_lossy(&line.line).into_owned(),
            ));
        }
        let (kept, cut) = cap_lines(lines, MAX_LOG_BYTES - HEADER_ROOM);
        let mut text = String::new();
        if cut {
            text.push_str("[older lines cut to fit 16 KiB]\n");
        }
        for (stream, line) in kept {
            if stream == v1::LogStream::Stderr {
                text.push_str(STDERR_TAG);
            }
            text.push_str(&line);
            text.push('\n');
        }
        let contents = ResourceContents::text(text, request.uri).with_mime_type("text/plain");
        Ok(ReadResourceResult::new(vec![contents]).into())
    }

    #[allow(deprecated)]
    async fn subscribe(
        &self,
        request: SubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        let uri = request.uri;
        let view = self.log_view(&uri).await?;
        let peer = context.peer;
        let watched = uri.clone();
        let task = tokio::spawn(async move {
            let mut last = log_size(&view);
            loop {
                tokio::time::sleep(WATCH_EVERY).await;
                let size = log_size(&view);
                if size != last {
                    last = size;
                    let update = ResourceUpdatedNotificationParam::new(watched.clone());
                    if peer.notify_resource_updated(update).await.is_err() {
                        return; // the client is gone
                    }
                }
            }
        });
        let mut watches = self.watches.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(previous) = watches.insert(uri, task.abort_handle()) {
            previous.abort();
        }
        Ok(())
    }

    #[allow(deprecated)]
    async fn unsubscribe(
        &self,
        request: UnsubscribeRequestParams,
        _: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        if let Some(watch) = self
            .watches
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&request.uri)
        {
            watch.abort();
        }
        Ok(())
    }
}
