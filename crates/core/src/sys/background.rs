//! Housekeeping threads that must never compete with the work they tidy up after.
//!
//! `unsafe` is allowed here for two calls neither rustix nor nix wraps
//! (`sched_setscheduler`, `ioprio_set`); each takes plain integers or a local struct.
#![allow(unsafe_code)]

use std::io;

/// `IOPRIO_CLASS_IDLE` from `linux/ioprio.h`: disk time only when no one else wants it.
const IOPRIO_CLASS_IDLE: libc::c_long = 3;
/// `IOPRIO_CLASS_SHIFT` from `linux/ioprio.h`.
const IOPRIO_CLASS_SHIFT: libc::c_long = 13;
/// `IOPRIO_WHO_PROCESS`: with id 0, the calling thread.
const IOPRIO_WHO_PROCESS: libc::c_long = 1;

/// Puts the calling thread (only it, not its process) in the `SCHED_IDLE` CPU class and
/// the idle I/O class: it runs when both cores and disk would otherwise idle. Used for
/// removing finished jobs' files, which a burst of short jobs would otherwise pay for
/// on its critical path. Both are best effort; the first error is returned (the thread
/// then keeps its normal priority, which is only slower for the work beside it).
pub fn lower_this_thread_to_idle() -> io::Result<()> {
    // SAFETY: sched_param holds only integers; all zero is priority 0, what SCHED_IDLE needs.
    let param: libc::sched_param = unsafe { std::mem::zeroed() };
    // The system call itself: musl's `sched_setscheduler` only ever fails with ENOSYS.
    // SAFETY: `param` is a valid sched_param; pid 0 is the calling thread.
    let cpu = unsafe {
        libc::syscall(
            libc::SYS_sched_setscheduler,
            0 as libc::c_long,
            libc::c_long::from(libc::SCHED_IDLE),
            &param as *const libc::sched_param,
        )
    };
    let cpu = if cpu == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    };
    // SAFETY: ioprio_set takes three integers and touches no memory.
    let disk = unsafe {
        libc::syscall(
            libc::SYS_ioprio_set,
            IOPRIO_WHO_PROCESS,
            0 as libc::c_long,
            IOPRIO_CLASS_IDLE << IOPRIO_CLASS_SHIFT,
        )
    };
    let disk = if disk == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    };
    cpu.and(disk)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_lowered_to_idle_says_so_and_its_siblings_do_not_change() {
        let lowered = std::thread::spawn(|| {
            // The disk half may be refused by a sandbox; the CPU half never is.
            let _ = lower_this_thread_to_idle();
            // SAFETY: pid 0 is the calling thread.
            unsafe { libc::sched_getscheduler(0) }
        })
        .join()
        .unwrap();
        assert_eq!(lowered, libc::SCHED_IDLE);
        // SAFETY: as above.
        assert_eq!(unsafe { libc::sched_getscheduler(0) }, libc::SCHED_OTHER);
    }
}
