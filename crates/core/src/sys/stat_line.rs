//! The fields of `/proc/PID/stat` that the samplers use, parsed straight from the bytes.
//!
//! `procfs`'s `Stat` parses all 52 fields through `str` splitting and `FromStr`, after a
//! lossy UTF-8 pass over the line and into a fresh buffer: in a listing refreshed every
//! second (`procward top`, 590 processes) that was most of the collector's own CPU time,
//! next to the kernel's. This reads the eleven fields in use and allocates only the name.

/// What is read of one `/proc/PID/stat` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StatLine {
    /// Process id.
    pub(crate) pid: u32,
    /// Short name (`comm`), between the first `(` and the last `)`.
    pub(crate) comm: String,
    /// State letter (`R`, `S`, `Z`, ...).
    pub(crate) state: char,
    /// Parent's PID.
    pub(crate) ppid: u32,
    /// Kernel flags (`PF_*`).
    pub(crate) flags: u32,
    /// User-mode CPU time, clock ticks.
    pub(crate) utime: u64,
    /// Kernel-mode CPU time, clock ticks.
    pub(crate) stime: u64,
    /// Threads.
    pub(crate) num_threads: u32,
    /// Start time, clock ticks since boot.
    pub(crate) starttime: u64,
    /// Virtual memory size, bytes.
    pub(crate) vsize: u64,
    /// Resident set size, pages.
    pub(crate) rss: u64,
}

impl StatLine {
    /// Parses one line; `None` when it is not a stat line.
    pub(crate) fn parse(line: &[u8]) -> Option<Self> {
        let open = line.iter().position(|b| *b == b'(')?;
        let close = line.iter().rposition(|b| *b == b')')?;
        let pid = number(line.get(..open)?.trim_ascii())?;
        let comm = String::from_utf8_lossy(line.get(open + 1..close)?).into_owned();
        // After ") ": state, then fields 4 onwards of proc_pid_stat(5), 0-based here.
        let mut fields = line.get(close + 1..)?.trim_ascii().split(|b| *b == b' ');
        let state = char::from(*fields.next()?.first()?);
        let mut next = |skip: usize| number(fields.nth(skip)?);
        let ppid = next(0)?; // field 4
        let flags = next(4)?; // field 9
        let utime = next(4)?; // field 14
        let stime = next(0)?; // field 15
        let num_threads = next(4)?; // field 20
        let starttime = next(1)?; // field 22
        let vsize = next(0)?; // field 23
        let rss = next(0)?; // field 24
        Some(Self {
            pid: u32::try_from(pid).ok()?,
            comm,
            state,
            ppid: u32::try_from(ppid).ok()?,
            flags: u32::try_from(flags).ok()?,
            utime,
            stime,
            num_threads: u32::try_from(num_threads).ok()?,
            starttime,
            vsize,
            rss,
        })
    }
}

/// An unsigned decimal (the fields read here are never negative).
fn number(text: &[u8]) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    text.iter().try_fold(0u64, |n, b| {
        let digit = b.checked_sub(b'0').filter(|d| *d < 10)?;
        n.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

#[cfg(test)]
mod tests {
    use procfs::FromRead;

    use super::*;

    #[test]
    fn matches_procfs_on_every_live_process() {
        let mut seen = 0;
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(text) = std::fs::read(entry.path().join("stat")) else {
                continue;
            };
            let theirs = procfs::process::Stat::from_read(&text[..]).unwrap();
            let ours = StatLine::parse(&text).unwrap();
            assert_eq!(ours.pid, theirs.pid as u32);
            assert_eq!(ours.comm, theirs.comm);
            assert_eq!(ours.state, theirs.state);
            assert_eq!(ours.ppid, theirs.ppid as u32);
            assert_eq!(ours.flags, theirs.flags);
            assert_eq!((ours.utime, ours.stime), (theirs.utime, theirs.stime));
            assert_eq!(i64::from(ours.num_threads), theirs.num_threads);
            assert_eq!(ours.starttime, theirs.starttime);
            assert_eq!((ours.vsize, ours.rss), (theirs.vsize, theirs.rss));
            seen += 1;
        }
        assert!(seen > 1);
    }

    #[test]
    fn a_name_with_spaces_and_parentheses_is_kept_whole() {
        let line = b"42 (a) b (c)) S 1 42 42 0 -1 4194560 10 0 0 0 7 3 0 0 20 0 2 0 1234 4096 12 18446744073709551615 0\n";
        let stat = StatLine::parse(line).unwrap();
        assert_eq!(stat.comm, "a) b (c)");
        assert_eq!((stat.pid, stat.ppid, stat.state), (42, 1, 'S'));
        assert_eq!((stat.utime, stat.stime, stat.num_threads), (7, 3, 2));
        assert_eq!((stat.starttime, stat.vsize, stat.rss), (1234, 4096, 12));
    }

    #[test]
    fn garbage_is_not_a_stat_line() {
        assert_eq!(StatLine::parse(b""), None);
        assert_eq!(StatLine::parse(b"42 (x) S 1"), None);
        assert_eq!(
            StatLine::parse(b"x (y) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21"),
            None
        );
    }
}
