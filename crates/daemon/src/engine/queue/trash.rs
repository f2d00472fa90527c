//! Removing forgotten jobs' folders off the queue's path. A job trimmed by
//! `keep_completed` or `queue clean` leaves the queue at once (its row, its place in
//! memory) and its folder is renamed out of sight (`jobs/.trash-ID`) in the same call;
//! deleting the files is left to one thread at idle CPU and disk priority, once the
//! queue is quiet. Deleting costs a burst of short jobs more than running them: each
//! attempt's files are freed inodes, and on ext4 without a journal every new inode is
//! then allocated past the recently freed ones (`recently_deleted`), so a burst deleting
//! as it goes (1,000 `true` jobs with `keep_completed = 100`) took 2.6 s instead of 1.6 s.
//! Whatever a stopped daemon had not deleted yet is deleted after its next start.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Prefix of a folder waiting to be deleted, beside the live jobs' folders.
const TRASH_PREFIX: &str = ".trash-";
/// How long without a discard before the trash is emptied.
const QUIET: Duration = Duration::from_secs(1);
/// How many folders may wait (their files use disk until deleted).
const MAX_PENDING: usize = 2_000;
/// How long a folder may wait while discards keep coming.
const MAX_WAIT: Duration = Duration::from_secs(30);

/// The queue's side of the deleting thread.
pub(crate) struct Trash {
    /// Where the jobs' folders are (`$PROCWARD_HOME/jobs`).
    jobs_dir: PathBuf,
    /// To the deleting thread; `None` when it could not be started (deletes inline).
    deleter: Option<mpsc::Sender<PathBuf>>,
}

impl Trash {
    /// Starts the deleting thread, which first deletes what an earlier daemon left in
    /// `jobs_dir`'s trash.
    pub(crate) fn start(jobs_dir: PathBuf) -> Self {
        let (tx, rx) = mpsc::channel::<PathBuf>();
        let leftovers = jobs_dir.clone();
        let started = std::thread::Builder::new()
            .name("job-trash".into())
            .spawn(move || {
                if let Err(e) = procward_core::sys::background::lower_this_thread_to_idle() {
                    tracing::debug!(error = %e, "job trash runs at normal priority");
                }
                empty_when_quiet(&rx, left_in(&leftovers));
            });
        let deleter = match started {
            Ok(_) => Some(tx),
            Err(e) => {
                tracing::warn!(error = %e, "cannot start the job trash; deleting inline");
                None
            }
        };
        Self { jobs_dir, deleter }
    }

    /// Takes `job_dir` out of sight now (a rename) and has it deleted later; deletes it
    /// at once when it cannot be renamed or there is no deleting thread. A folder that
    /// does not exist (a job that never ran here) is no error.
    pub(crate) fn discard(&self, job_dir: &Path) {
        let Some(name) = job_dir.file_name() else {
            return;
        };
        let mut trashed = std::ffi::OsString::from(TRASH_PREFIX);
        trashed.push(name);
        let trashed = self.jobs_dir.join(trashed);
        match (&self.deleter, std::fs::rename(job_dir, &trashed)) {
            (Some(deleter), Ok(())) => {
                if let Err(mpsc::SendError(dir)) = deleter.send(trashed) {
                    delete(&dir);
                }
            }
            (None, Ok(())) => delete(&trashed),
            (_, Err(e)) if e.kind() == std::io::ErrorKind::NotFound => {}
            (_, Err(_)) => delete(job_dir),
        }
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

/// The trash an earlier daemon left in `jobs_dir`.
fn left_in(jobs_dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(jobs_dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| {
            e.file_name()
                .as_encoded_bytes()
                .starts_with(TRASH_PREFIX.as_bytes())
        })
        .map(|e| e.path())
        .collect()
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
        let trash = Trash::start(jobs.clone());
        trash.discard(&one);
        assert!(!one.exists(), "out of sight when discard returns");
        trash.discard(&jobs.join("3")); // never existed: nothing to do
        let deadline = Instant::now() + Duration::from_secs(10);
        while names(&jobs) != ["2"] {
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
        std::fs::rename(&left, jobs.join(".trash-7")).unwrap();
        job(&jobs, 8);
        let _trash = Trash::start(jobs.clone());
        let deadline = Instant::now() + Duration::from_secs(10);
        while names(&jobs) != ["8"] {
            assert!(Instant::now() < deadline, "still there: {:?}", names(&jobs));
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}
