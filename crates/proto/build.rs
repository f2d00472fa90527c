//! Generates the gRPC code from `proto/` with protox, so no `protoc` is needed, and keeps
//! the encoded descriptor set for server reflection.

use prost::Message as _;

/// Every enum-typed field and its JSON serializer in `crate::convert::json`.
const ENUM_FIELDS: [(&str, &str); 7] = [
    (".procward.v1.Job.state", "job_state"),
    (".procward.v1.JobEvent.state", "job_state"),
    (".procward.v1.ManagedProcess.state", "process_state"),
    (".procward.v1.ManagedProcess.health", "health_state"),
    (".procward.v1.ManagedProcess.readiness", "health_state"),
    (".procward.v1.ProcessSpec.restart", "restart_policy"),
    (".procward.v1.LogLine.stream", "log_stream"),
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    let files = [
        "procward/v1/supervisor.proto",
        "procward/v1/process_manager.proto",
        "procward/v1/ports.proto",
        "procward/v1/queue.proto",
    ];
    for file in files {
        println!("cargo:rerun-if-changed={}", root.join(file).display());
    }
    let descriptors = protox::compile(files, [&root])?;
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out.join("procward_descriptor.bin"),
        descriptors.encode_to_vec(),
    )?;
    // JSON for the web transport: the wire messages serialise with their proto names, and
    // enum fields (i32 in Rust) as their lower-case wire names (src/convert/json.rs).
    let mut config = tonic_prost_build::configure()
        .type_attribute(".procward.v1", "#[derive(serde::Serialize)]");
    for (field, serializer) in ENUM_FIELDS {
        config = config.field_attribute(
            field,
            format!("#[serde(serialize_with = \"crate::convert::json::{serializer}\")]"),
        );
    }
    config.compile_fds(descriptors)?;
    Ok(())
}
