//! JSON for the web transport. The generated messages derive `serde::Serialize`
//! (crates/proto/build.rs), and an enum field is an `i32` there; these serializers, named
//! per field in build.rs, write its lower-case wire name instead (`"state": "running"`,
//! `"restart": "on-failure"`, `"stream": "stderr"`, `"health": ""` without a check), so
//! the dashboard's JSON is what it was when the fields were strings. A number this build
//! does not know is written as its decimal text, still a string.

use serde::Serializer;

use crate::v1;

fn name<S: Serializer, E: TryFrom<i32>>(
    value: i32,
    wire_name: fn(E) -> &'static str,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match E::try_from(value) {
        Ok(known) => serializer.serialize_str(wire_name(known)),
        Err(_) => serializer.serialize_str(&value.to_string()),
    }
}

/// `ManagedProcess.state`.
pub fn process_state<S: Serializer>(value: &i32, serializer: S) -> Result<S::Ok, S::Error> {
    name(*value, v1::ProcessState::wire_name, serializer)
}

/// `ProcessSpec.restart`.
pub fn restart_policy<S: Serializer>(value: &i32, serializer: S) -> Result<S::Ok, S::Error> {
    name(*value, v1::RestartPolicy::wire_name, serializer)
}

/// `ManagedProcess.health`, `ManagedProcess.readiness`.
pub fn health_state<S: Serializer>(value: &i32, serializer: S) -> Result<S::Ok, S::Error> {
    name(*value, v1::HealthState::wire_name, serializer)
}

/// `LogLine.stream`.
pub fn log_stream<S: Serializer>(value: &i32, serializer: S) -> Result<S::Ok, S::Error> {
    name(*value, v1::LogStream::wire_name, serializer)
}

/// `Job.state`, `JobEvent.state`.
pub fn job_state<S: Serializer>(value: &i32, serializer: S) -> Result<S::Ok, S::Error> {
    name(*value, v1::JobState::wire_name, serializer)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::v1;

    #[test]
    fn enum_fields_serialise_as_their_lower_case_names() {
        let process = v1::ManagedProcess {
            name: "web".into(),
            state: v1::ProcessState::Running.into(),
            health: v1::HealthState::None.into(),
            spec: Some(v1::ProcessSpec {
                restart: v1::RestartPolicy::OnFailure.into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let value = serde_json::to_value(&process).unwrap();
        assert_eq!(value["state"], json!("running"));
        assert_eq!(value["health"], json!(""));
        assert_eq!(value["spec"]["restart"], json!("on-failure"));
        let line = v1::LogLine {
            stream: v1::LogStream::Stderr.into(),
            line: b"x".to_vec(),
            process: String::new(),
        };
        assert_eq!(
            serde_json::to_value(&line).unwrap()["stream"],
            json!("stderr")
        );
        let odd = v1::ManagedProcess {
            state: 99,
            health: v1::HealthState::Healthy.into(),
            readiness: v1::HealthState::Starting.into(),
            ..Default::default()
        };
        let value = serde_json::to_value(&odd).unwrap();
        assert_eq!(value["state"], json!("99"));
        assert_eq!(value["health"], json!("healthy"));
        assert_eq!(value["readiness"], json!("starting"));
    }
}
