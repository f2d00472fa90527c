//! The proto enums (`ProcessState`, `RestartPolicy`, `HealthState`, `LogStream`) and the
//! core types they carry. On the wire an enum field is an `i32` that may hold any value,
//! so reading one is fallible: UNSPECIFIED (0, what a client that leaves the field out
//! sends) and numbers this build does not know are refused with a message naming the
//! field, which the gRPC layer returns as INVALID_ARGUMENT.
//!
//! Each enum also has a lower-case wire name (`running`, `on-failure`, `stderr`; `""` for
//! `HealthState::None`): the words every text interface shows, and what the JSON of the
//! web transport carries (see [`super::json`]).

use procward_core::supervisor::spec::RestartPolicy;
use procward_core::supervisor::state::State;
use procward_core::supervisor::view::Health;

use crate::v1;

impl From<State> for v1::ProcessState {
    fn from(state: State) -> Self {
        match state {
            State::Pending => Self::Pending,
            State::Starting => Self::Starting,
            State::Running => Self::Running,
            State::Paused => Self::Paused,
            State::Stopping => Self::Stopping,
            State::Stopped => Self::Stopped,
            State::Failed => Self::Failed,
        }
    }
}

impl From<RestartPolicy> for v1::RestartPolicy {
    fn from(policy: RestartPolicy) -> Self {
        match policy {
            RestartPolicy::Always => Self::Always,
            RestartPolicy::OnFailure => Self::OnFailure,
            RestartPolicy::Never => Self::Never,
        }
    }
}

impl From<Health> for v1::HealthState {
    fn from(health: Health) -> Self {
        match health {
            Health::None => Self::None,
            Health::Starting => Self::Starting,
            Health::Healthy => Self::Healthy,
            Health::Unhealthy => Self::Unhealthy,
        }
    }
}

/// `field`'s value as a known enum, or why not (naming the field and the choices).
fn known<E: TryFrom<i32>>(field: &str, value: i32, what: &str, choices: &str) -> Result<E, String> {
    match E::try_from(value) {
        Ok(known) if value != 0 => Ok(known),
        Ok(_) => Err(format!(
            "{field}: no {what} given (the enum's UNSPECIFIED value 0): use {choices}"
        )),
        Err(_) => Err(format!("{field}: unknown {what} {value}: use {choices}")),
    }
}

/// `ProcessSpec.restart` as a core policy; UNSPECIFIED and unknown values are refused.
pub fn restart_from_proto(value: i32) -> Result<RestartPolicy, String> {
    let choices =
        "RESTART_POLICY_ALWAYS (1), RESTART_POLICY_ON_FAILURE (2) or RESTART_POLICY_NEVER (3)";
    Ok(
        match known::<v1::RestartPolicy>("restart", value, "restart policy", choices)? {
            v1::RestartPolicy::Always => RestartPolicy::Always,
            v1::RestartPolicy::OnFailure => RestartPolicy::OnFailure,
            v1::RestartPolicy::Never => RestartPolicy::Never,
            v1::RestartPolicy::Unspecified => unreachable!("refused by known()"),
        },
    )
}

/// `ManagedProcess.state` as a core state; UNSPECIFIED and unknown values are refused.
pub fn state_from_proto(value: i32) -> Result<State, String> {
    let choices = "one of PROCESS_STATE_PENDING (1) to PROCESS_STATE_FAILED (7)";
    Ok(
        match known::<v1::ProcessState>("state", value, "process state", choices)? {
            v1::ProcessState::Pending => State::Pending,
            v1::ProcessState::Starting => State::Starting,
            v1::ProcessState::Running => State::Running,
            v1::ProcessState::Paused => State::Paused,
            v1::ProcessState::Stopping => State::Stopping,
            v1::ProcessState::Stopped => State::Stopped,
            v1::ProcessState::Failed => State::Failed,
            v1::ProcessState::Unspecified => unreachable!("refused by known()"),
        },
    )
}

/// `ManagedProcess.health` as core health; UNSPECIFIED and unknown values are refused.
pub fn health_from_proto(value: i32) -> Result<Health, String> {
    let choices = "one of HEALTH_STATE_NONE (1) to HEALTH_STATE_UNHEALTHY (4)";
    Ok(
        match known::<v1::HealthState>("health", value, "health state", choices)? {
            v1::HealthState::None => Health::None,
            v1::HealthState::Starting => Health::Starting,
            v1::HealthState::Healthy => Health::Healthy,
            v1::HealthState::Unhealthy => Health::Unhealthy,
            v1::HealthState::Unspecified => unreachable!("refused by known()"),
        },
    )
}

impl v1::ProcessState {
    /// The lower-case name (`running`), as the core state and the JSON spell it.
    pub fn wire_name(self) -> &'static str {
        match state_from_proto(self as i32) {
            Ok(state) => state.as_str(),
            Err(_) => "unspecified",
        }
    }
}

impl v1::RestartPolicy {
    /// The lower-case name (`on-failure`), as the core policy and the JSON spell it.
    pub fn wire_name(self) -> &'static str {
        match restart_from_proto(self as i32) {
            Ok(policy) => policy.as_str(),
            Err(_) => "unspecified",
        }
    }
}

impl v1::HealthState {
    /// The lower-case name (`healthy`); `""` for NONE, as the JSON has always carried it.
    pub fn wire_name(self) -> &'static str {
        match health_from_proto(self as i32) {
            Ok(health) => health.as_str(),
            Err(_) => "unspecified",
        }
    }
}

impl v1::LogStream {
    /// `stdout` or `stderr` (`unspecified` for the value the daemon never sends).
    pub fn wire_name(self) -> &'static str {
        match self {
            Self::Stdout => "stdout",
            Self::Stderr => "stderr",
            Self::Unspecified => "unspecified",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_core_value_round_trips_with_its_name() {
        for state in State::ALL {
            let wire = v1::ProcessState::from(state);
            assert_eq!(state_from_proto(wire as i32), Ok(state));
            assert_eq!(wire.wire_name(), state.to_string());
        }
        for policy in [
            RestartPolicy::Always,
            RestartPolicy::OnFailure,
            RestartPolicy::Never,
        ] {
            let wire = v1::RestartPolicy::from(policy);
            assert_eq!(restart_from_proto(wire as i32), Ok(policy));
            assert_eq!(wire.wire_name(), policy.to_string());
        }
        for health in [
            Health::None,
            Health::Starting,
            Health::Healthy,
            Health::Unhealthy,
        ] {
            let wire = v1::HealthState::from(health);
            assert_eq!(health_from_proto(wire as i32), Ok(health));
            assert_eq!(wire.wire_name(), health.as_str());
        }
        assert_eq!(v1::LogStream::Stderr.wire_name(), "stderr");
    }

    #[test]
    fn unspecified_and_unknown_values_are_refused_naming_the_field() {
        for (value, says) in [
            (0, "UNSPECIFIED"),
            (99, "unknown restart policy 99"),
            (-1, "-1"),
        ] {
            let err = restart_from_proto(value).unwrap_err();
            assert!(err.starts_with("restart: "), "{err}");
            assert!(err.contains(says), "{err}");
        }
        assert!(state_from_proto(0).unwrap_err().starts_with("state: "));
        assert!(
            state_from_proto(8)
                .unwrap_err()
                .contains("unknown process state 8")
        );
        assert!(health_from_proto(0).unwrap_err().starts_with("health: "));
        assert_eq!(v1::ProcessState::Unspecified.wire_name(), "unspecified");
    }
}
