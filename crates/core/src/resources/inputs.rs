//! Limits as people type them (`--memory-max 512M`, `"cpu_max": "150%"`): one parser for
//! every door that takes text, so the CLI's `start` and `queue add`, MCP's tools and the
//! socket.io start all accept the same units and refuse the same values with the same
//! words.

use serde::Deserialize;

use super::{BreachAction, ResourceLimits, parse_cpu, parse_memory, parse_pids};
use crate::supervisor::spec::SpecError;

/// The text form of [`ResourceLimits`]; every field optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitInputs {
    /// `512M`, `1GiB` or bytes.
    #[serde(default)]
    pub memory_max: Option<String>,
    /// `256M`, `1GiB` or bytes.
    #[serde(default)]
    pub memory_high: Option<String>,
    /// `150%`, `150` or `1.5cores`.
    #[serde(default)]
    pub cpu_max: Option<String>,
    /// A count, as text (JSON callers may send a number: see [`LimitInputs::pids`]).
    #[serde(default)]
    pub pids_max: Option<String>,
    /// `restart`, `stop` or `notify`.
    #[serde(default)]
    pub on_breach: Option<String>,
    /// Accept hard limits this machine can only poll.
    #[serde(default)]
    pub best_effort: bool,
}

impl LimitInputs {
    /// Whether nothing at all was given (a spec keeps its own limits then).
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Sets `pids_max` from a number (JSON callers send one).
    pub fn pids(mut self, pids: Option<u32>) -> Self {
        if let Some(pids) = pids {
            self.pids_max = Some(pids.to_string());
        }
        self
    }

    /// Parses every given field over `limits` (fields not given keep their value) and
    /// checks the result; errors name the field.
    pub fn apply(&self, limits: &mut ResourceLimits) -> Result<(), SpecError> {
        let mut out = limits.clone();
        if let Some(size) = &self.memory_max {
            out.memory_max = Some(parse_memory("memory_max", size)?);
        }
        if let Some(size) = &self.memory_high {
            out.memory_high = Some(parse_memory("memory_high", size)?);
        }
        if let Some(cpu) = &self.cpu_max {
            out.cpu_max = Some(parse_cpu(cpu)?);
        }
        if let Some(pids) = &self.pids_max {
            out.pids_max = Some(parse_pids(pids)?);
        }
        if let Some(action) = &self.on_breach {
            out.on_breach = BreachAction::parse(action)?;
        }
        out.best_effort |= self.best_effort;
        out.validate()?;
        *limits = out;
        Ok(())
    }

    /// The limits these inputs describe on their own.
    pub fn parse(&self) -> Result<ResourceLimits, SpecError> {
        let mut limits = ResourceLimits::default();
        self.apply(&mut limits)?;
        Ok(limits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_field_with_units() {
        let inputs = LimitInputs {
            memory_max: Some("64M".into()),
            memory_high: Some("32M".into()),
            cpu_max: Some("1.5cores".into()),
            pids_max: Some("20".into()),
            on_breach: Some("stop".into()),
            best_effort: true,
        };
        let limits = inputs.parse().unwrap();
        assert_eq!(limits.memory_max, Some(64 << 20));
        assert_eq!(limits.memory_high, Some(32 << 20));
        assert_eq!(limits.cpu_max, Some(150));
        assert_eq!(limits.pids_max, Some(20));
        assert_eq!(limits.on_breach, BreachAction::Stop);
        assert!(limits.best_effort);
    }

    #[test]
    fn a_bad_field_is_named_and_nothing_changes() {
        let mut limits = ResourceLimits {
            pids_max: Some(5),
            ..Default::default()
        };
        let before = limits.clone();
        for (inputs, field) in [
            (
                LimitInputs {
                    memory_max: Some("12 parsecs".into()),
                    ..Default::default()
                },
                "memory_max",
            ),
            (
                LimitInputs {
                    cpu_max: Some("0%".into()),
                    ..Default::default()
                },
                "cpu_max",
            ),
            (LimitInputs::default().pids(Some(0)), "pids_max"),
            (
                LimitInputs {
                    memory_max: Some("16M".into()),
                    memory_high: Some("32M".into()),
                    ..Default::default()
                },
                "memory_high",
            ),
            (
                LimitInputs {
                    memory_max: Some("16M".into()),
                    on_breach: Some("explode".into()),
                    ..Default::default()
                },
                "on_breach",
            ),
        ] {
            let err = inputs.apply(&mut limits).unwrap_err();
            assert!(err.to_string().contains(field), "{err} names {field}");
            assert_eq!(limits, before);
        }
    }

    #[test]
    fn fields_not_given_keep_their_value() {
        let mut limits = ResourceLimits {
            pids_max: Some(5),
            ..Default::default()
        };
        LimitInputs {
            memory_max: Some("8M".into()),
            ..Default::default()
        }
        .apply(&mut limits)
        .unwrap();
        assert_eq!(limits.pids_max, Some(5));
        assert_eq!(limits.memory_max, Some(8 << 20));
        assert!(LimitInputs::default().is_empty());
    }
}
