//! The two words a user types to say what runs: the process name, checked by
//! [`validate_name`] because names become file names and CLI arguments, and the command
//! string, turned into argv by [`command_from_string`] (run directly, or under
//! `/bin/sh -c` when it uses shell syntax). Every interface calls these on raw input before
//! a spec exists, and [`ProcessSpec::validate`](super::ProcessSpec::validate) checks names
//! with the same rules.

use super::{MAX_NAME_LEN, SpecError, invalid};

/// Checks a process name: 1-64 ASCII letters, digits, `.`, `_` or `-`, not starting with
/// `.` or `-`, never containing `..`. Names become file names, so anything that could
/// escape a folder or confuse a shell is refused with the reason.
pub fn validate_name(name: &str) -> Result<(), SpecError> {
    let reason = if name.is_empty() {
        "it is empty".to_owned()
    } else if name.contains('\0') {
        "it contains a NUL byte".to_owned()
    } else if name.contains('/') {
        "it contains '/'".to_owned()
    } else if name.contains("..") {
        "it contains '..'".to_owned()
    } else if let Some(c) = name.chars().find(|c| c.is_whitespace()) {
        format!("it contains whitespace ({c:?})")
    } else if name.chars().count() > MAX_NAME_LEN {
        format!("it is {} characters long", name.chars().count())
    } else if let Some(c) = name.chars().find(|c| !is_name_char(*c)) {
        format!("it contains {c:?}")
    } else if name.starts_with(['.', '-']) {
        format!("it starts with '{}'", &name[..1])
    } else {
        return Ok(());
    };
    let shown: String = name.chars().take(80).collect();
    Err(SpecError::InvalidName {
        name: shown,
        reason,
    })
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
}

/// Characters that make a command string shell syntax rather than plain words.
const SHELL_CHARS: &[char] = &[
    '|', '&', ';', '<', '>', '$', '`', '(', ')', '*', '?', '[', ']', '~', '{', '}', '\n',
];
/// First words that only a shell understands.
const SHELL_WORDS: &[&str] = &[
    "cd", "exec", "export", "eval", ".", "source", "set", "unset", "ulimit", "umask", "trap", "if",
    "for", "while", "until", "case", "wait",
];

/// Turns one command string into argv: plain words are split like a shell would (quotes
/// honoured) and run directly; anything using shell syntax (pipes, redirections, `$VAR`,
/// globs, `;`, `&&`, `VAR=x cmd`, builtins such as `cd`) runs as `/bin/sh -c STRING`.
pub fn command_from_string(s: &str) -> Result<Vec<String>, SpecError> {
    if s.trim().is_empty() {
        return Err(SpecError::EmptyCommand);
    }
    if s.contains('\0') {
        return Err(invalid("command", "contains a NUL byte"));
    }
    let shell = || Ok(vec!["/bin/sh".to_owned(), "-c".to_owned(), s.to_owned()]);
    if s.contains(SHELL_CHARS) {
        return shell();
    }
    match shlex::split(s) {
        None => shell(),
        Some(words) if words.is_empty() => Err(SpecError::EmptyCommand),
        Some(words) if SHELL_WORDS.contains(&words[0].as_str()) || is_assignment(&words[0]) => {
            shell()
        }
        Some(words) => Ok(words),
    }
}

fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(key, _)| {
        key.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}
