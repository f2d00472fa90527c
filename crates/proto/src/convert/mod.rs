//! Conversions between wire messages and core types, one module per service. Incoming
//! messages are validated here, so a malformed request is refused at the edge with a
//! message saying why.

mod enums;
pub(crate) mod json;
pub mod limits;
pub mod queue;
mod supervisor;
pub mod system;

pub use enums::{health_from_proto, restart_from_proto, state_from_proto};
pub use supervisor::{
    metrics_from_proto, metrics_to_proto, spec_from_proto, spec_to_proto, view_from_proto,
    view_to_proto,
};
