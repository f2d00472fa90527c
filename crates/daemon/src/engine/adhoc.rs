//! Ad-hoc starts (`StartProcess`, MCP `start_process`): a command becomes a managed
//! process (restart "never") whose output is logged. What only this request has (the
//! program on PATH, the working directory, a derived name) is checked here; the spec
//! itself by the supervisor's one validation. A refused or failed start leaves nothing
//! registered and no log folder behind.

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use procward_core::supervisor::spec::ProcessSpec;
use procward_core::supervisor::state::RestartPolicy;
use procward_core::supervisor::view::ManagedView;
use procward_core::{ProcessInfo, ProcessSampler};

use super::Engine;
use super::error::{EngineError, SupervisorError};
use super::supervisor::Supervisor;

/// Longest name stem derived from a command.
const STEM_MAX: usize = 32;

/// A command to run once, as a caller asks for it.
#[derive(Debug, Clone, Default)]
pub struct AdHocStart {
    /// The program: a name on PATH, or a path.
    pub command: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// The managed name; `None` derives `PROGRAM-N`, an empty name is refused.
    pub name: Option<String>,
    /// Extra environment (its PATH, if given, is where the program is looked up).
    pub env: HashMap<String, String>,
    /// An absolute, existing directory to run in.
    pub working_dir: Option<String>,
}

/// What an ad-hoc start made.
#[derive(Debug, Clone)]
pub struct AdHocStarted {
    /// The managed process.
    pub view: ManagedView,
    /// Its OS process, when it is still running.
    pub process: Option<ProcessInfo>,
}

impl Engine {
    /// Validates `request`, registers it and starts it; a spawn failure unregisters it
    /// again. The pid is remembered, so its logs stay reachable by pid after it exits.
    pub async fn start_adhoc(&self, request: AdHocStart) -> Result<AdHocStarted, EngineError> {
        let view = start(&self.supervisor, request).await?;
        let Some(pid) = view.pid else {
            return Ok(AdHocStarted {
                view,
                process: None,
            });
        };
        self.pids.remember([(pid, view.spec.name.clone())]);
        let process =
            tokio::task::spawn_blocking(move || ProcessSampler::new().refresh_some(&[pid]).pop())
                .await?;
        Ok(AdHocStarted { view, process })
    }
}

fn invalid(message: impl Into<String>) -> EngineError {
    EngineError::Invalid(message.into())
}

async fn start(supervisor: &Supervisor, request: AdHocStart) -> Result<ManagedView, EngineError> {
    if request.name.as_deref().is_some_and(str::is_empty) {
        return Err(invalid(
            "name: is empty; omit it to derive a name from the program",
        ));
    }
    let program = request.command.trim();
    if program.is_empty() {
        return Err(invalid("command is empty: give the program to run"));
    }
    let cwd = match request.working_dir.as_deref().filter(|d| !d.is_empty()) {
        Some(dir) => Some(working_dir(dir)?),
        None => None,
    };
    let path_var = request
        .env
        .get("PATH")
        .cloned()
        .or_else(|| std::env::var("PATH").ok())
        .unwrap_or_default();
    if !program.contains('\0') && resolve(program, cwd.as_deref(), &path_var).is_none() {
        return Err(invalid(format!(
            "command '{program}' not found{} or not executable",
            if program.contains('/') {
                ""
            } else {
                " on PATH"
            }
        )));
    }
    let mut command = vec![program.to_owned()];
    command.extend(request.args);
    let name = match request.name {
        Some(name) => name,
        None => free_name(supervisor, program).await?,
    };
    let mut spec = ProcessSpec::new(name, command);
    spec.env = request.env.into_iter().collect();
    spec.cwd = cwd;
    spec.restart = RestartPolicy::Never;
    match supervisor.start_or_discard(spec).await {
        Ok(view) => Ok(view),
        Err(SupervisorError::Spawn { message, .. }) => Err(EngineError::Refused(format!(
            "cannot start '{program}': {message}"
        ))),
        Err(e) => Err(e.into()),
    }
}

/// An existing, absolute directory.
fn working_dir(dir: &str) -> Result<PathBuf, EngineError> {
    let path = PathBuf::from(dir);
    if !path.is_absolute() {
        return Err(invalid(format!(
            "working_dir must be an absolute path (got '{dir}')"
        )));
    }
    match std::fs::metadata(&path) {
        Ok(meta) if meta.is_dir() => Ok(path),
        Ok(_) => Err(invalid(format!("working_dir '{dir}' is not a directory"))),
        Err(e) => Err(invalid(format!("working_dir '{dir}' cannot be used: {e}"))),
    }
}

/// Where `program` would be executed from: a path with a slash (relative to `cwd`), else
/// the first executable of that name on `path_var`.
fn resolve(program: &str, cwd: Option<&Path>, path_var: &str) -> Option<PathBuf> {
    let executable = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        let path = match cwd {
            Some(dir) if !Path::new(program).is_absolute() => dir.join(program),
            _ => PathBuf::from(program),
        };
        return executable(&path).then_some(path);
    }
    std::env::split_paths(path_var)
        .map(|dir| dir.join(program))
        .find(|candidate| executable(candidate))
}

/// `STEM-N` with the lowest N not yet taken, the stem made from the program's file name.
async fn free_name(supervisor: &Supervisor, program: &str) -> Result<String, EngineError> {
    let base = Path::new(program)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut stem: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .take(STEM_MAX)
        .collect();
    if stem.trim_matches('-').is_empty() {
        stem = "process".into();
    }
    let taken: std::collections::HashSet<String> = supervisor
        .list()
        .await?
        .into_iter()
        .map(|v| v.spec.name)
        .collect();
    let n = (1..)
        .find(|n| !taken.contains(&format!("{stem}-{n}")))
        .unwrap_or(1);
    Ok(format!("{stem}-{n}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_on_path_and_relative_to_cwd() {
        let path_var = std::env::var("PATH").unwrap();
        assert!(resolve("sh", None, &path_var).is_some());
        assert!(resolve("no-such-program-procward", None, &path_var).is_none());
        assert!(
            resolve("sh", None, "").is_none(),
            "an empty PATH finds nothing"
        );
        assert!(resolve("/bin/sh", None, "").is_some());
        assert!(resolve("bin/sh", Some(Path::new("/")), "").is_some());
        assert!(resolve("/etc/passwd", None, "").is_none(), "not executable");
    }

    #[test]
    fn working_dir_must_exist_and_be_absolute() {
        assert!(working_dir("/").is_ok());
        assert!(working_dir("relative").is_err());
        assert!(working_dir("/no/such/dir/procward").is_err());
        assert!(working_dir("/etc/passwd").is_err());
    }
}
