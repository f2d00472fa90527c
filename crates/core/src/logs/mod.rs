//! Captured output: size-rotated log files written whole lines at a time, tailing from the
//! end without reading whole files, and following across rotations.

pub mod follow;
pub mod stamp;
pub mod tail;
pub mod writer;
