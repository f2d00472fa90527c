//! Removing forgotten jobs' folders off the queue's path. A job trimmed by
//! `keep_completed` or `queue clean` leaves the queue at once (its row, its place in
//! memory) and its folder is moved out of sight (`jobs/.trash/ID`, a rename) in the same
//! call; deleting the files is left to one thread at idle CPU and disk priority, once the
//! queue is quiet. Deleting costs a burst of short jobs more than running them: each
//! attempt's files are freed inodes, and on ext4 without a journal every new inode is
//! then allocated past the recently freed ones (`recently_deleted`), so a burst deleting
//! as it goes (1,000 `true` jobs with `keep_completed = 100`) took 2.6 s instead of 1.6 s.
//!
//! The thread starts with the first discard, or at the daemon's start when an earlier
//! daemon left trash, so an idle daemon does not carry it (a thread with its own malloc
//! arena costs about 1 MB of RSS).

use std::path::{Path, PathBuf};
use std::sync::{OnceLock, mpsc};
use std::time::{Duration, Instant};

/// The trash folder, among the jobs' folders (a name no job id takes).
const TRASH_DIR: &str = ".trash";
/// How long without a discard before the trash is emptied.
const QUIET: Duration = Duration::from_secs(1);
/// How many folders may wait (their files use disk until deleted).
const MAX_PENDING: usize = 2_000;
/// How long a folder may wait while discards keep coming.
const MAX_WAIT: Duration = Duration::from_secs(30);

/// The queue's side of the deleting thread.
pub(crate) struct Trash {
    /// `$PROCWARD_HOME/jobs/.trash`.
    dir: PathBuf,
    /// To the deleting thread, once started; `None` inside when it could not be started
    /// (then folders are deleted inline).
    deleter: OnceLock<Option<mpsc::Sender<PathBuf>>>,
}

impl Trash {
    /// The trash of the jobs' folders in `jobs_dir`; starts the deleting thread now only
    /// when an earlier daemon left something in it.
    pub(crate) fn new(jobs_dir: &Path) -> Self {
        let trash = Self {
            dir: jobs_dir.join(TRASH_DIR),
            deleter: OnceLock::new(),
        };
        if std::fs::read_dir(&trash.dir).is_ok_and(|mut entries| entries.next().is_some()) {
            trash.deleter();
        }
        trash
    }

    /// Takes `job_dir` out of sight now (a rename) and has it deleted later; deletes it
    /// at once when it cannot be moved or there is no deleting thread. A folder that
    /// does not exist (a job that never ran here) is no error.
    pub(crate) fn discard(&self, job_dir: &Path) {
        let Some(name) = job_dir.file_name() else {
            return;
        };
        let trashed = self.dir.join(name);
        let mut moved = std::fs::rename(job_dir, &trashed);
        if moved
            .as_ref()
            .is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound)
        {
            if !job_dir.exists() {
                return;
            }
            // The first discard: the trash folder is made once.
            let _ = std::fs::create_dir(&self.dir);
            moved = std::fs::rename(job_dir, &trashed);
        }
        match (moved, self.deleter()) {
            (Ok(()), Some(deleter)) => {
                if let Err(mpsc::SendError(dir)) = deleter.send(trashed) {
                    delete(&dir);
                }
            }
            (Ok(()), None) => delete(&trashed),
            (Err(_), _) => delete(job_dir),
        }
    }

    /// The deleting thread's sender, the thread started on first use.
    fn deleter(&self) -> Option<&mpsc::Sender<PathBuf>> {
        self.deleter
            .get_or_init(|| {
                let (tx, rx) = mpsc::channel::<PathBuf>();
                let dir = self.dir.clone();
                let started =
                    std::thread::Builder::new()
                        .name("job-trash".into())
                        .spawn(move || {
                            let lowered =
                                procward_core::sys::background::lower_this_thread_to_idle();
                            if let Err(e) = lowered {
                                tracing::debug!(error = %e, "job trash runs at normal priority");
                            }
                            empty_when_quiet(&rx, left_in(&dir));
                        });
                match started {
                    Ok(_) => Some(tx),
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot start the job trash; deleting inline");
                        None
                    }
                }
            })
            .as_ref()
    }
}

/// The deleting thread's loop: folders are kept until no discard has come for [`QUIET`]
/// (a burst of jobs has ended), or [`MAX_PENDING`] are waiting, or the oldest has waited
/// [`MAX_WAIT`] (a queue that is never quiet), then deleted together. Returns when the
/// queue is gone; what is left then is deleted after the next start.
fn empty_when_quiet(rx: &mpsc::Receiver<PathBuf>, mut pending: Vec<PathBuf>) {
    let mut oldest = (!pending.is_empty()).then(Instant::now);
    loop {
        let received = match oldest {
            None => rx.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected),
            Some(_) => rx.recv_timeout(QUIET),
        };
        match received {
            Ok(dir) => {
                let since = *oldest.get_or_insert_with(Instant::now);
                pending.push(dir);
                if pending.len() < MAX_PENDING && since.elapsed() < MAX_WAIT {
                    continue;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
        pending.drain(..).for_each(|dir| delete(&dir));
        oldest = None;
    }
}

/// What is in the trash folder now (left by an earlier daemon, or just discarded: a
/// folder deleted twice is no error).
fn left_in(trash: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(trash) else {
        return Vec::new();
    };
    entries.flatten().map(|e| e.path()).collect()
}

fn delete(dir: &Path) {
    if let Err(e) = std::fs::remove_dir_all(dir)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(dir = %dir.display(), error = %e, "cannot delete a removed job's files");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(jobs: &Path, id: u64) -> PathBuf {
        let dir = jobs.join(id.to_string()).join("1");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("stdout.log"), b"out\n").unwrap();
        jobs.join(id.to_string())
    }

    fn names(jobs: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(jobs)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_discarded_folder_is_gone_at_once_and_deleted_soon_after_the_others_stay() {
        let home = tempfile::tempdir().unwrap();
        let jobs = home.path().join("jobs");
        let (one, two) = (job(&jobs, 1), job(&jobs, 2));
        let trash = Trash::new(&jobs);
        assert!(
            trash.deleter.get().is_none(),
            "no thread before the first discard"
        );
        trash.discard(&one);
        assert!(!one.exists(), "out of sight when discard returns");
        trash.discard(&jobs.join("3")); // never existed: nothing to do
        let deadline = Instant::now() + Duration::from_secs(10);
        while names(&jobs) != [".trash", "2"] || !names(&jobs.join(TRASH_DIR)).is_empty() {
            assert!(Instant::now() < deadline, "still there: {:?}", names(&jobs));
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(two.join("1").join("stdout.log").exists());
    }

    #[test]
    fn what_an_earlier_daemon_left_in_the_trash_is_deleted_after_a_start() {
        let home = tempfile::tempdir().unwrap();
        let jobs = home.path().join("jobs");
        let left = job(&jobs, 7);
        std::fs::create_dir(jobs.join(TRASH_DIR)).unwrap();
        std::fs::rename(&left, jobs.join(TRASH_DIR).join("7")).unwrap();
        job(&jobs, 8);
        let _trash = Trash::new(&jobs);
        let deadline = Instant::now() + Duration::from_secs(10);
        while names(&jobs) != [".trash", "8"] || !names(&jobs.join(TRASH_DIR)).is_empty() {
            assert!(Instant::now() < deadline, "still there: {:?}", names(&jobs));
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}
