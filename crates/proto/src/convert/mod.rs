//! Conversions between wire messages and core types, one module per service. Incoming
//! messages are validated here, so a malformed request is refused at the edge with a
//! message saying why.

mod supervisor;
pub mod system;

pub use supervisor::{spec_from_proto, spec_to_proto, view_from_proto, view_to_proto};
