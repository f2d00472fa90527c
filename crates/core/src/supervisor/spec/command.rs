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
/// A quote left open is refused with its position (see [`check_quotes`]).
pub fn command_from_string(s: &str) -> Result<Vec<String>, SpecError> {
    if s.trim().is_empty() {
        return Err(SpecError::EmptyCommand);
    }
    if s.contains('\0') {
        return Err(invalid("command", "contains a NUL byte"));
    }
    check_quotes(s)?;
    let shell = || Ok(vec!["/bin/sh".to_owned(), "-c".to_owned(), s.to_owned()]);
    if s.contains(SHELL_CHARS) {
        return shell();
    }
    match shlex::split(s) {
        None => shell(),
        Some(words) if words.first().is_none_or(|p| p.trim().is_empty()) => {
            Err(SpecError::EmptyCommand)
        }
        Some(words) if SHELL_WORDS.contains(&words[0].as_str()) || is_assignment(&words[0]) => {
            shell()
        }
        Some(words) => Ok(words),
    }
}

/// `argv` as one line a shell reads back to the same words (quoted by `shlex`), for
/// showing a command; words that cannot be quoted (a NUL byte) are joined as they are.
pub fn shell_words(argv: &[String]) -> String {
    shlex::try_join(argv.iter().map(String::as_str)).unwrap_or_else(|_| argv.join(" "))
}

fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(key, _)| {
        key.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

/// Refuses a command string whose `'` or `"` quote is never closed, naming where it opens
/// (`unterminated ' quote at column 7`), as a shell would fail on it only once started.
/// Quoting follows `sh`: nothing is special inside `'...'`; inside `"..."` and outside
/// quotes a backslash escapes the next character; `#` at the start of a word comments out
/// the rest of the line. Strings with a here-document (`<<`) are not checked, since its
/// body is not shell syntax.
pub fn check_quotes(s: &str) -> Result<(), SpecError> {
    if s.contains("<<") {
        return Ok(());
    }
    let mut open: Option<(char, usize)> = None;
    let mut chars = s.char_indices().peekable();
    let mut word_start = true;
    while let Some((at, c)) = chars.next() {
        match (open, c) {
            (Some(('\'', _)), '\'') | (Some(('"', _)), '"') => open = None,
            (Some(('"', _)), '\\') => {
                chars.next();
            }
            (Some(_), _) => {}
            (None, '\'' | '"') => open = Some((c, at)),
            (None, '\\') => {
                chars.next();
            }
            (None, '#') if word_start => while chars.next_if(|&(_, c)| c != '\n').is_some() {},
            _ => {}
        }
        word_start = open.is_none() && (c.is_whitespace() || ";&|()<>".contains(c));
    }
    let Some((quote, at)) = open else {
        return Ok(());
    };
    let before = &s[..at];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    let place = if line == 1 {
        format!("column {column}")
    } else {
        format!("line {line}, column {column}")
    };
    Err(invalid(
        "command",
        format!("unterminated {quote} quote at {place}: close it or escape it with a backslash"),
    ))
}
