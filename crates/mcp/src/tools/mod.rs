//! The tool catalog ([`ToolName`], one table entry per tool) and the one place a call is
//! parsed, dispatched and turned into a tool result. Every failure, including malformed
//! arguments, comes back as a result with `isError: true` and a message that says what
//! went wrong and what to try.

mod audit;
mod catalog;
pub(crate) mod managed;
mod queue;
mod system;

pub use catalog::ToolName;

use rmcp::model::{CallToolResult, ContentBlock, JsonObject, Tool, ToolAnnotations};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::args::MAX_TEXT;
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
    use crate::args;

    #[test]
    fn read_only_hides_every_tool_that_acts() {
        let all = catalog(&Policy::default());
        assert_eq!(all.len(), 20);
        let reads = catalog(&Policy {
            read_only: true,
            ..Policy::default()
        });
        assert_eq!(reads.len(), 11);
        assert!(reads.iter().any(|t| t.name == "audit_log"));
        for tool in &reads {
            let notes = tool.annotations.as_ref().unwrap();
            assert_eq!(notes.read_only_hint, Some(true), "{}", tool.name);
        }
        for name in ["queue_add", "queue_cancel", "queue_retry"] {
            assert!(
                reads.iter().all(|t| t.name != name),
                "{name} in a read-only catalog"
            );
            assert!(!exposed(
                &Policy {
                    read_only: true,
                    ..Policy::default()
                },
                name
            ));
        }
        for name in [
            "stop_process",
            "restart_process",
            "reload_process",
            "scale_process",
            "kill_process",
            "queue_cancel",
        ] {
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
