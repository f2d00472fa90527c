//! procward's gRPC contract, generated from `proto/procward/v1/*.proto`, and the
//! conversions between wire messages and core types. The proto files are the one
//! definition of what crosses the wire; everything else derives from them.

/// Generated code for `procward.v1`.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod v1 {
    tonic::include_proto!("procward.v1");
}

/// The encoded `FileDescriptorSet` of every procward proto, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/procward_descriptor.bin"));

pub mod client;
pub mod convert;
