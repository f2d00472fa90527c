//! The Lua scripts every change to the shared queue goes through: Redis runs each one
//! atomically, so a rule that spans several keys (a group's `parallel` across hosts, a
//! job's fencing token, the dependents of a job that ends) holds however many daemons
//! call at once. Each script is the shared prelude (`lua/prelude.lua`: the key layout and
//! helpers) followed by its own body; `redis::Script` sends it by SHA and loads it once.

use redis::Script;

const PRELUDE: &str = include_str!("lua/prelude.lua");

/// Every script, loaded once per daemon.
pub(super) struct Scripts {
    /// Queues a job (checks its group and dependencies).
    pub add: Script,
    /// Takes ready jobs of a group under its concurrency limit, with fencing tokens.
    pub claim: Script,
    /// Records that a claimed job's process runs.
    pub started: Script,
    /// Extends a host's leases; says which were cancelled or lost.
    pub renew: Script,
    /// Records an attempt's end and moves the job on.
    pub finish: Script,
    /// Cancels a waiting job or asks a running job's host to end it.
    pub cancel: Script,
    /// Queues a failed or cancelled job again.
    pub retry: Script,
    /// Queues delayed jobs whose time came; says where jobs may start.
    pub poll: Script,
    /// Takes over jobs whose lease expired.
    pub reap: Script,
    /// Creates, resizes, pauses and resumes groups.
    pub groups: Script,
    /// Removes final jobs.
    pub forget: Script,
    /// Adds, removes, fires (once across hosts) and updates schedules.
    pub schedules: Script,
}

fn script(body: &str) -> Script {
    Script::new(&format!("{PRELUDE}\n{body}"))
}

impl Scripts {
    pub(super) fn new() -> Self {
        Self {
            add: script(include_str!("lua/add.lua")),
            claim: script(include_str!("lua/claim.lua")),
            started: script(include_str!("lua/started.lua")),
            renew: script(include_str!("lua/renew.lua")),
            finish: script(include_str!("lua/finish.lua")),
            cancel: script(include_str!("lua/cancel.lua")),
            retry: script(include_str!("lua/retry.lua")),
            poll: script(include_str!("lua/poll.lua")),
            reap: script(include_str!("lua/reap.lua")),
            groups: script(include_str!("lua/groups.lua")),
            forget: script(include_str!("lua/forget.lua")),
            schedules: script(include_str!("lua/schedules.lua")),
        }
    }
}
