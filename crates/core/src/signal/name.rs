//! Signal names and numbers as users type them.

use std::fmt;
use std::str::FromStr;

use nix::sys::signal::Signal as NixSignal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::Error;

/// A standard POSIX signal, parsed from `TERM`, `SIGTERM`, `term` or `15`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signal(NixSignal);

impl Signal {
    /// SIGTERM: polite request to exit.
    pub const TERM: Signal = Signal(NixSignal::SIGTERM);
    /// SIGKILL: cannot be caught.
    pub const KILL: Signal = Signal(NixSignal::SIGKILL);
    /// SIGINT: as from Ctrl-C.
    pub const INT: Signal = Signal(NixSignal::SIGINT);
    /// SIGSTOP: pause.
    pub const STOP: Signal = Signal(NixSignal::SIGSTOP);
    /// SIGCONT: resume.
    pub const CONT: Signal = Signal(NixSignal::SIGCONT);

    /// The signal with this number, if it is a standard one.
    pub fn from_number(number: i32) -> Option<Signal> {
        NixSignal::try_from(number).ok().map(Signal)
    }

    /// The signal number.
    pub fn number(self) -> i32 {
        self.0 as i32
    }

    /// The full name, such as `SIGTERM`.
    pub fn name(self) -> &'static str {
        self.0.as_str()
    }

    /// Whether this signal asks a process to end, so waiting for its exit (and escalating
    /// to SIGKILL) makes sense. Other signals (HUP, USR1, STOP, ...) are only delivered.
    pub fn is_termination(self) -> bool {
        matches!(
            self.0,
            NixSignal::SIGTERM | NixSignal::SIGINT | NixSignal::SIGQUIT | NixSignal::SIGKILL
        )
    }

    pub(crate) fn to_rustix(self) -> rustix::process::Signal {
        rustix::process::Signal::from_named_raw(self.number())
            .expect("every nix signal is a named rustix signal")
    }
}

impl FromStr for Signal {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        let parsed = if let Ok(number) = text.parse::<i32>() {
            NixSignal::try_from(number).ok()
        } else {
            let upper = text.to_ascii_uppercase();
            let full = if upper.starts_with("SIG") {
                upper
            } else {
                format!("SIG{upper}")
            };
            NixSignal::from_str(&full).ok()
        };
        parsed
            .map(Signal)
            .ok_or_else(|| Error::InvalidSignal(s.to_owned()))
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Signal {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Signal {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_numbers() {
        for text in ["TERM", "SIGTERM", "term", "15", " sigterm "] {
            assert_eq!(text.parse::<Signal>().unwrap(), Signal::TERM, "{text}");
        }
        assert_eq!("9".parse::<Signal>().unwrap().name(), "SIGKILL");
        assert_eq!("hup".parse::<Signal>().unwrap().number(), 1);
    }

    #[test]
    fn rejects_unknown_signals() {
        for text in ["", "FOO", "0", "-9", "65", "SIG", "99999999999"] {
            let err = text.parse::<Signal>().unwrap_err();
            assert!(matches!(err, Error::InvalidSignal(_)), "{text}: {err}");
        }
    }

    #[test]
    fn only_ending_signals_escalate() {
        assert!(Signal::TERM.is_termination());
        assert!(!"HUP".parse::<Signal>().unwrap().is_termination());
        assert!(!Signal::STOP.is_termination());
    }
}
