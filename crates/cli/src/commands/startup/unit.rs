//! The systemd unit `procward startup` writes, as pure text from a few facts (so it is
//! tested line by line and `--print` shows exactly what would be installed).

use std::path::{Path, PathBuf};

/// The first line of every unit procward writes: `unstartup` removes only files that
/// carry it, so a hand-written `procward.service` is never deleted by mistake.
pub const MARKER: &str = "# Written by `procward startup`; remove it with `procward unstartup`.";

/// Which systemd instance runs the daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The user's own manager (`systemctl --user`), started at boot through linger.
    User,
    /// The system manager (PID 1), as root or as `User=`.
    System,
}

impl Scope {
    /// The flag that selects this scope on procward's and systemctl's command lines.
    pub fn flag(self) -> &'static str {
        match self {
            Self::User => "--user",
            Self::System => "--system",
        }
    }

    /// The target that pulls the unit in at boot: a user manager has no
    /// `multi-user.target`, the system manager's `default.target` may be graphical.
    pub fn wanted_by(self) -> &'static str {
        match self {
            Self::User => "default.target",
            Self::System => "multi-user.target",
        }
    }

    /// Where systemd looks for units an administrator (system) or a user installed.
    pub fn default_dir(self) -> anyhow::Result<PathBuf> {
        match self {
            Self::System => Ok(PathBuf::from("/etc/systemd/system")),
            Self::User => {
                let config = std::env::var_os("XDG_CONFIG_HOME")
                    .filter(|c| !c.is_empty())
                    .map(PathBuf::from)
                    .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".config")))
                    .ok_or_else(|| {
                        anyhow::anyhow!("neither XDG_CONFIG_HOME nor HOME is set: give --unit-dir")
                    })?;
                Ok(config.join("systemd/user"))
            }
        }
    }
}

/// The unit's name: `procward.service`, or `procward-USER.service` for a system unit
/// that runs the daemon as USER (so several users' daemons can each have one).
pub fn unit_name(run_as: Option<&str>) -> String {
    match run_as {
        Some(user) => format!("procward-{user}.service"),
        None => "procward.service".to_owned(),
    }
}

/// What the unit is made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitSpec {
    /// User or system manager.
    pub scope: Scope,
    /// The absolute path of the `procward` binary (`procwardd` is found beside it).
    pub exe: String,
    /// The resolved `PROCWARD_HOME`, so the boot daemon uses the state of today's.
    pub home: String,
    /// The `PATH` managed commands are looked up in (the daemon's environment is theirs),
    /// so `node` or `python3` found today are found at boot too.
    pub path: Option<String>,
    /// `User=` of a system unit; `None` runs it as root (or, for a user unit, as the user).
    pub run_as: Option<String>,
}

/// The unit file's text. Fails on a value no unit file can hold (a newline or another
/// control character would start a new directive).
pub fn render(spec: &UnitSpec) -> anyhow::Result<String> {
    let exec = format!("{} daemon", exec_word(&spec.exe)?);
    let mut env = vec![env_line("PROCWARD_HOME", &spec.home)?];
    if let Some(path) = &spec.path {
        env.push(env_line("PATH", path)?);
    }
    let user = match &spec.run_as {
        Some(user) => format!("User={}\n", plain("user", user)?),
        None => String::new(),
    };
    Ok(format!(
        "{MARKER}
[Unit]
Description=procward process manager daemon
After=network.target

[Service]
Type=simple
ExecStart={exec}
{env}
{user}Restart=on-failure
RestartSec=2
# KillMode=process: `systemctl stop` (and a restart, or the daemon's own exit) ends
# only the daemon. Managed processes run in their own process groups under per-process
# shims, in sub-cgroups of this unit's cgroup (<unit>/procward-<hash>/<name>); the
# default control-group mode (and mixed) would kill all of them with the daemon.
# They keep running, and the next daemon re-adopts them, as after `procward daemon stop`.
KillMode=process
# Delegate=yes: procward makes and removes those sub-cgroups itself; systemd must
# leave them alone.
Delegate=yes

[Install]
WantedBy={wanted_by}
",
        env = env.join("\n"),
        wanted_by = spec.scope.wanted_by(),
    ))
}

/// One word of `ExecStart=`: `%` (specifiers) and `$` (variables) doubled, quoted when
/// it holds spaces, quotes or backslashes.
fn exec_word(word: &str) -> anyhow::Result<String> {
    let word = no_controls("the executable's path", word)?
        .replace('%', "%%")
        .replace('$', "$$");
    Ok(quote_if_needed(&word))
}

/// `Environment=KEY=VALUE`, quoted when needed; `%` doubled (systemd expands specifiers
/// there, not variables).
fn env_line(key: &str, value: &str) -> anyhow::Result<String> {
    let value = no_controls(key, value)?.replace('%', "%%");
    Ok(format!(
        "Environment={}",
        quote_if_needed(&format!("{key}={value}"))
    ))
}

fn quote_if_needed(text: &str) -> String {
    if text.contains(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '\\')) {
        format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        text.to_owned()
    }
}

fn no_controls<'a>(what: &str, value: &'a str) -> anyhow::Result<&'a str> {
    if value.contains(char::is_control) {
        return Err(procward_core::Error::InvalidArgument(format!(
            "{what} {value:?} holds a control character, which a unit file cannot carry"
        ))
        .into());
    }
    Ok(value)
}

/// A value that must be written as is (a user name).
fn plain<'a>(what: &str, value: &'a str) -> anyhow::Result<&'a str> {
    let ok = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !ok {
        return Err(procward_core::Error::InvalidArgument(format!(
            "{what} {value:?}: only letters, digits, '_', '-' and '.' can name a unit"
        ))
        .into());
    }
    Ok(value)
}

/// Checks a user name for use in a unit name and `User=`.
pub fn check_user(user: &str) -> anyhow::Result<()> {
    plain("user", user).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(scope: Scope) -> UnitSpec {
        UnitSpec {
            scope,
            exe: "/usr/local/bin/procward".into(),
            home: "/home/alice/.local/state/procward".into(),
            path: Some("/usr/local/bin:/usr/bin:/bin".into()),
            run_as: None,
        }
    }

    #[test]
    fn a_user_unit_has_exactly_these_directives() {
        let text = render(&spec(Scope::User)).unwrap();
        let directives: Vec<&str> = text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .collect();
        assert_eq!(
            directives,
            [
                "[Unit]",
                "Description=procward process manager daemon",
                "After=network.target",
                "[Service]",
                "Type=simple",
                "ExecStart=/usr/local/bin/procward daemon",
                "Environment=PROCWARD_HOME=/home/alice/.local/state/procward",
                "Environment=PATH=/usr/local/bin:/usr/bin:/bin",
                "Restart=on-failure",
                "RestartSec=2",
                "KillMode=process",
                "Delegate=yes",
                "[Install]",
                "WantedBy=default.target",
            ]
        );
        assert!(text.starts_with(MARKER), "{text}");
        assert!(text.contains("# KillMode=process: `systemctl stop`"));
    }

    #[test]
    fn a_system_unit_runs_as_its_user_and_is_wanted_by_multi_user() {
        let mut spec = spec(Scope::System);
        spec.run_as = Some("alice".into());
        spec.path = None;
        let text = render(&spec).unwrap();
        assert!(
            text.contains("\nUser=alice\nRestart=on-failure\n"),
            "{text}"
        );
        assert!(
            text.ends_with("[Install]\nWantedBy=multi-user.target\n"),
            "{text}"
        );
        assert!(!text.contains("Environment=PATH"), "{text}");
        assert_eq!(unit_name(Some("alice")), "procward-alice.service");
        assert_eq!(unit_name(None), "procward.service");
    }

    #[test]
    fn odd_paths_are_quoted_and_escaped_and_newlines_are_refused() {
        let mut spec = spec(Scope::User);
        spec.exe = "/opt/my tools/100%/pro$ward".into();
        spec.home = "/srv/state \"pw\"".into();
        let text = render(&spec).unwrap();
        assert!(
            text.contains("\nExecStart=\"/opt/my tools/100%%/pro$$ward\" daemon\n"),
            "{text}"
        );
        assert!(
            text.contains("\nEnvironment=\"PROCWARD_HOME=/srv/state \\\"pw\\\"\"\n"),
            "{text}"
        );
        spec.home = "/tmp/x\nExecStartPre=/bin/evil".into();
        let error = render(&spec).unwrap_err().to_string();
        assert!(error.contains("control character"), "{error}");
        assert!(check_user("alice").is_ok());
        assert!(check_user("al ice").is_err() && check_user("").is_err());
    }
}
