//! Knowing when runs end: one thread waits on the pidfds of every watched process with
//! epoll, so watching 1,000 processes costs one thread, not 1,000 tasks or threads.
//!
//! A pidfd turns readable when its process exits. The watcher then sends [`Exited`] for
//! the run it was registered with, converted into its owner's event type (the
//! supervisor actor's and the job queue's each have their own watcher).
//!
//! A job's shim is watched through its report channel instead ([`ExitWatcher::watch_channel`]):
//! the channel turns readable when the shim hands its exit record over (or closes when
//! it is gone), and the record comes with the event.

use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use procward_core::supervisor::shim::{self, ChannelEvent, HandedOver};
use procward_core::sys::process::Instance;
use rustix::event::epoll::{self, CreateFlags, EventData, EventFlags};
use rustix::process::{Pid, PidfdFlags, pidfd_open};
use tokio::sync::mpsc::UnboundedSender;

/// A watched process exited: the run `generation` of `name` (a process name, or a job id
/// for the queue) has ended.
#[derive(Debug)]
pub struct Exited {
    /// What the process was registered under.
    pub name: String,
    /// Which run of it.
    pub generation: u64,
    /// The exit record, when a shim watched through its channel handed it over (to be
    /// acknowledged once saved); `None`: read its status file.
    pub handed_over: Option<HandedOver>,
}

/// One registration: the descriptor (kept open while registered) and the run it belongs
/// to.
struct Watched {
    fd: OwnedFd,
    /// `fd` is a shim's report channel rather than a pidfd.
    channel: bool,
    name: String,
    generation: u64,
}

/// Registers processes and reports their exits to the actor.
pub struct ExitWatcher<E> {
    epoll: Arc<OwnedFd>,
    watched: Arc<Mutex<HashMap<u64, Watched>>>,
    next_token: Arc<AtomicU64>,
    events: UnboundedSender<E>,
}

impl<E> Clone for ExitWatcher<E> {
    fn clone(&self) -> Self {
        Self {
            epoll: self.epoll.clone(),
            watched: self.watched.clone(),
            next_token: self.next_token.clone(),
            events: self.events.clone(),
        }
    }
}

impl<E: From<Exited> + Send + 'static> ExitWatcher<E> {
    /// Starts the watcher thread.
    pub fn start(events: UnboundedSender<E>) -> std::io::Result<Self> {
        let watcher = Self {
            epoll: Arc::new(epoll::create(CreateFlags::CLOEXEC)?),
            watched: Arc::default(),
            next_token: Arc::new(AtomicU64::new(1)),
            events,
        };
        let thread = watcher.clone();
        std::thread::Builder::new()
            .name("exit-watcher".into())
            .spawn(move || thread.run())?;
        Ok(watcher)
    }

    /// Reports the exit of `process` as the end of run `generation` of `name`; reports it
    /// at once if that process is already gone (or its PID now names another process).
    pub fn watch(&self, process: Instance, name: &str, generation: u64) {
        let pid = process.pid;
        let exited = || {
            let _ = self.events.send(E::from(Exited {
                name: name.to_owned(),
                generation,
                handed_over: None,
            }));
        };
        let Some(pidfd) =
            Pid::from_raw(pid as i32).and_then(|p| pidfd_open(p, PidfdFlags::empty()).ok())
        else {
            return exited();
        };
        // Checked after opening: the pidfd now pins the process the start time names.
        if !process.is_alive() {
            return exited();
        }
        if self.register(pidfd, false, name, generation).is_err() {
            exited();
        }
    }

    /// Reports the end of run `generation` of `name` when its shim hands the exit over on
    /// `channel` (from [`shim::await_report_with_channel`]), or closes it.
    pub fn watch_channel(&self, channel: OwnedFd, name: &str, generation: u64) {
        if self.register(channel, true, name, generation).is_err() {
            let _ = self.events.send(E::from(Exited {
                name: name.to_owned(),
                generation,
                handed_over: None,
            }));
        }
    }

    fn register(
        &self,
        fd: OwnedFd,
        channel: bool,
        name: &str,
        generation: u64,
    ) -> std::io::Result<()> {
        let token = self.next_token.fetch_add(1, Ordering::Relaxed);
        let mut watched = self.watched.lock().expect("watch table");
        epoll::add(&*self.epoll, &fd, EventData::new_u64(token), EventFlags::IN)?;
        let name = name.to_owned();
        let entry = Watched {
            fd,
            channel,
            name,
            generation,
        };
        watched.insert(token, entry);
        Ok(())
    }

    fn run(self) {
        let mut ready = Vec::with_capacity(64);
        loop {
            ready.clear();
            if epoll::wait(
                &*self.epoll,
                rustix::buffer::spare_capacity(&mut ready),
                None,
            )
            .is_err()
            {
                continue; // EINTR
            }
            for event in &ready {
                let token = event.data.u64();
                let mut watched = self.watched.lock().expect("watch table");
                let Some(done) = watched.remove(&token) else {
                    continue;
                };
                let _ = epoll::delete(&*self.epoll, &done.fd);
                let handed_over = match done.channel {
                    false => None,
                    true => match shim::receive(done.fd) {
                        (ChannelEvent::Nothing, Some(fd)) => {
                            // Not yet: watched again under the same token.
                            let again = EventData::new_u64(token);
                            if epoll::add(&*self.epoll, &fd, again, EventFlags::IN).is_ok() {
                                watched.insert(token, Watched { fd, ..done });
                                continue;
                            }
                            None
                        }
                        (ChannelEvent::Exit(handed_over), _) => Some(handed_over),
                        _ => None,
                    },
                };
                drop(watched);
                let exited = Exited {
                    name: done.name,
                    generation: done.generation,
                    handed_over,
                };
                if self.events.send(E::from(exited)).is_err() {
                    return; // the actor is gone
                }
            }
        }
    }
}
