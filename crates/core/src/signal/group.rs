//! Signals to a managed process's whole process group, never to a group that is not ours.
//!
//! Every managed process leads its own group (the shim spawns it with `process_group(0)`),
//! so stop, pause and resume reach its whole tree. A group id cannot be reused while any
//! member lives, so signalling is safe while the leader (checked by start time) or any
//! member still exists; an empty group is left alone. The leader is recognised by its
//! start time in clock ticks, so a PID reused within the same second is not taken for it.

use crate::signal::Signal;
use crate::sys::process::Instance;
use nix::sys::signal::{Signal as NixSignal, killpg};
use nix::unistd::Pid;

/// The live (non-zombie) members of process group `pgid`.
pub fn members(pgid: u32) -> Vec<u32> {
    let Ok(all) = procfs::process::all_processes() else {
        return Vec::new();
    };
    all.flatten()
        .filter_map(|p| p.stat().ok())
        .filter(|s| s.pgrp == pgid as i32 && s.state != 'Z' && s.state != 'X')
        .map(|s| s.pid as u32)
        .collect()
}

/// Sends `signal` to the group led by `leader`. Returns false when the group is already
/// empty, so nothing was sent.
pub fn signal(leader: Instance, signal: Signal) -> bool {
    if !leader.is_alive() && members(leader.pid).is_empty() {
        return false;
    }
    let Ok(nix_signal) = NixSignal::try_from(signal.number()) else {
        return false;
    };
    killpg(Pid::from_raw(leader.pid as i32), nix_signal).is_ok()
}

/// Sends `signal` to the group led by `leader`, the caller's own child that it has not
/// reaped yet (a live session's process): while unreaped, its pid and so its group id
/// cannot be reused, so no identity check is needed. Returns whether it was sent.
pub fn signal_child_group(leader: u32, signal: Signal) -> bool {
    let Ok(nix_signal) = NixSignal::try_from(signal.number()) else {
        return false;
    };
    killpg(Pid::from_raw(leader as i32), nix_signal).is_ok()
}
