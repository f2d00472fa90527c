//! The queue's persistent store: SQLite (through rusqlite, SQLite compiled in) in WAL
//! mode, one row per job, so an add or a state change writes one small row whatever the
//! queue's size (pueue rewrites its whole state file on every change and slows as it
//! grows). Why SQLite rather than redb or a JSON file: one file with transactions that
//! survive a crash at any instant (the WAL is replayed on open), indexed reads for
//! `clean` and future queries, and a format any `sqlite3` shell can inspect.
//!
//! Durability: `synchronous = NORMAL` in WAL mode, so a commit is safe against a crash
//! of the daemon (`kill -9`) at once and against power loss from the next checkpoint
//! on; an add costs no fsync. A burst of job events (exits, starts) is written in one
//! transaction ([`Store::begin_batch`]): the queue acknowledges an exit to its shim only
//! after that commit.

use std::cell::{Cell, OnceCell};
use std::path::{Path, PathBuf};

use procward_core::queue::{Group, Job, Schedule};
use rusqlite::{Connection, OptionalExtension, params};

use crate::engine::registry::RunRecord;

/// The store could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed (disk full, corrupt file, ...).
    #[error("queue store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A row does not decode (written by an incompatible version).
    #[error("queue store: bad row: {0}")]
    Decode(#[from] serde_json::Error),
}

/// Everything the queue keeps across restarts. The file is made on the first write: a
/// daemon whose queue was never used opens no database (no fsyncs at start, none of
/// SQLite's pages in memory).
pub struct Store {
    path: PathBuf,
    db: OnceCell<Connection>,
    batch: Cell<Batch>,
}

/// Whether writes are being gathered into one transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Batch {
    /// Each write commits on its own.
    Off,
    /// A batch is asked for; its transaction begins with its first write.
    Wanted,
    /// The batch's transaction is open.
    Open,
}

/// What [`Store::load`] finds.
#[derive(Default)]
pub struct Loaded {
    /// Every job, by id.
    pub jobs: Vec<Job>,
    /// Every group.
    pub groups: Vec<Group>,
    /// The run of each job that was running, for re-adoption.
    pub runs: Vec<(u64, RunRecord)>,
    /// Every schedule.
    pub schedules: Vec<Schedule>,
    /// The highest id ever given (ids are never reused, even after `clean`).
    pub last_id: u64,
}

/// Opens (creating) the database at `path`, in WAL mode, with every table.
fn connect(path: &Path) -> Result<Connection, StoreError> {
    let db = Connection::open(path)?;
    db.pragma_update(None, "journal_mode", "WAL")?;
    db.pragma_update(None, "synchronous", "NORMAL")?;
    db.execute_batch(
        "CREATE TABLE IF NOT EXISTS jobs (
             id INTEGER PRIMARY KEY,
             state TEXT NOT NULL,
             body TEXT NOT NULL
         );
         CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs(state);
         CREATE TABLE IF NOT EXISTS groups (name TEXT PRIMARY KEY, body TEXT NOT NULL);
         CREATE TABLE IF NOT EXISTS runs (job_id INTEGER PRIMARY KEY, body TEXT NOT NULL);
         CREATE TABLE IF NOT EXISTS schedules (name TEXT PRIMARY KEY, body TEXT NOT NULL);
         CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);",
    )?;
    Ok(db)
}

impl Store {
    /// Opens the store at `path` when its file exists; otherwise it is created by the
    /// first write.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let store = Self {
            path: path.to_owned(),
            db: OnceCell::new(),
            batch: Cell::new(Batch::Off),
        };
        if path.exists() {
            store.db()?;
        }
        Ok(store)
    }

    /// The connection, opening (creating) the file on first use, and the batch's
    /// transaction on its first write.
    fn db(&self) -> Result<&Connection, StoreError> {
        let db = match self.db.get() {
            Some(db) => db,
            None => {
                let db = connect(&self.path)?;
                self.db.get_or_init(|| db)
            }
        };
        if self.batch.get() == Batch::Wanted {
            db.execute_batch("BEGIN")?;
            self.batch.set(Batch::Open);
        }
        Ok(db)
    }

    /// Gathers the writes until [`Store::commit_batch`] into one transaction (begun by
    /// the first of them, so an unused queue still makes no file): a burst of job events
    /// costs one commit instead of one each. Each write's own transaction becomes a
    /// savepoint inside it. Whoever promises anything on those writes (an exit
    /// acknowledged to its shim) waits for the commit.
    pub fn begin_batch(&self) {
        if self.batch.get() == Batch::Off {
            self.batch.set(Batch::Wanted);
        }
    }

    /// Commits the batch's writes; when that fails they are rolled back, and the error
    /// says so (the caller counts a failed save).
    pub fn commit_batch(&self) -> Result<(), StoreError> {
        if self.batch.replace(Batch::Off) != Batch::Open {
            return Ok(());
        }
        let db = self
            .db
            .get()
            .expect("a batch is open only on an open store");
        if let Err(e) = db.execute_batch("COMMIT") {
            // SQLite may have rolled back already (a full disk): then this fails too.
            let _ = db.execute_batch("ROLLBACK");
            return Err(e.into());
        }
        Ok(())
    }

    fn db_mut(&mut self) -> Result<&mut Connection, StoreError> {
        self.db()?;
        Ok(self.db.get_mut().expect("opened above"))
    }

    /// Reads everything back.
    pub fn load(&self) -> Result<Loaded, StoreError> {
        let Some(db) = self.db.get() else {
            return Ok(Loaded::default());
        };
        let mut jobs = Vec::new();
        let mut rows = db.prepare("SELECT body FROM jobs ORDER BY id")?;
        for body in rows.query_map([], |row| row.get::<_, String>(0))? {
            jobs.push(serde_json::from_str(&body?)?);
        }
        let mut groups = Vec::new();
        let mut rows = db.prepare("SELECT body FROM groups ORDER BY name")?;
        for body in rows.query_map([], |row| row.get::<_, String>(0))? {
            groups.push(serde_json::from_str(&body?)?);
        }
        let mut runs = Vec::new();
        let mut rows = db.prepare("SELECT job_id, body FROM runs")?;
        for row in rows.query_map([], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
        })? {
            let (id, body) = row?;
            runs.push((id as u64, serde_json::from_str(&body)?));
        }
        let mut schedules = Vec::new();
        let mut rows = db.prepare("SELECT body FROM schedules ORDER BY name")?;
        for body in rows.query_map([], |row| row.get::<_, String>(0))? {
            schedules.push(serde_json::from_str(&body?)?);
        }
        let last_id: Option<i64> = db
            .query_row("SELECT value FROM meta WHERE key = 'last_id'", [], |r| {
                r.get(0)
            })
            .optional()?;
        Ok(Loaded {
            jobs,
            groups,
            runs,
            schedules,
            last_id: last_id.unwrap_or(0) as u64,
        })
    }

    /// Adds a new job and remembers its id as the last given, in one transaction.
    pub fn insert(&mut self, job: &Job) -> Result<(), StoreError> {
        let body = serde_json::to_string(job)?;
        let tx = self.db_mut()?.savepoint()?;
        tx.execute(
            "INSERT INTO jobs (id, state, body) VALUES (?1, ?2, ?3)",
            params![job.id as i64, job.state.as_str(), body],
        )?;
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('last_id', ?1)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![job.id as i64],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Saves a changed job.
    pub fn update(&self, job: &Job) -> Result<(), StoreError> {
        update_job(self.db()?, job)
    }

    /// Records an attempt that started: its run (see [`Self::put_run`]) and the job, in
    /// one transaction.
    pub fn start_run(&mut self, job: &Job, run: &RunRecord) -> Result<(), StoreError> {
        let tx = self.db_mut()?.savepoint()?;
        put_run(&tx, job.id, run)?;
        update_job(&tx, job)?;
        tx.commit()?;
        Ok(())
    }

    /// Forgets jobs (`clean`, `keep_completed`), in one transaction.
    pub fn delete(&mut self, ids: &[u64]) -> Result<(), StoreError> {
        let tx = self.db_mut()?.savepoint()?;
        {
            let mut delete = tx.prepare("DELETE FROM jobs WHERE id = ?1")?;
            for id in ids {
                delete.execute(params![*id as i64])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Adds or changes a group.
    pub fn put_group(&self, group: &Group) -> Result<(), StoreError> {
        self.db()?.execute(
            "INSERT INTO groups (name, body) VALUES (?1, ?2)
             ON CONFLICT(name) DO UPDATE SET body = excluded.body",
            params![group.name, serde_json::to_string(group)?],
        )?;
        Ok(())
    }

    /// Adds or changes a schedule.
    pub fn put_schedule(&self, schedule: &Schedule) -> Result<(), StoreError> {
        self.db()?.execute(
            "INSERT INTO schedules (name, body) VALUES (?1, ?2)
             ON CONFLICT(name) DO UPDATE SET body = excluded.body",
            params![schedule.spec.name, serde_json::to_string(schedule)?],
        )?;
        Ok(())
    }

    /// Forgets a schedule (the jobs it queued stay).
    pub fn delete_schedule(&self, name: &str) -> Result<(), StoreError> {
        self.db()?
            .execute("DELETE FROM schedules WHERE name = ?1", params![name])?;
        Ok(())
    }

    /// Remembers the running attempt's shim and process, so a restarted daemon finds
    /// them again instead of running the job twice.
    pub fn put_run(&self, id: u64, run: &RunRecord) -> Result<(), StoreError> {
        put_run(self.db()?, id, run)
    }

    /// Saves a job that is not running and forgets its run, if it had one, in one
    /// transaction: an attempt's end costs one commit, and a crash before it leaves the
    /// run to be re-adopted (its shim's exit record read) rather than a running job
    /// without a run.
    pub fn end_run(&mut self, job: &Job) -> Result<(), StoreError> {
        let tx = self.db_mut()?.savepoint()?;
        tx.prepare_cached("DELETE FROM runs WHERE job_id = ?1")?
            .execute(params![job.id as i64])?;
        update_job(&tx, job)?;
        tx.commit()?;
        Ok(())
    }
}

/// Saves a changed job (its statement parsed once per connection: a job changes state
/// several times per attempt).
fn update_job(db: &Connection, job: &Job) -> Result<(), StoreError> {
    let body = serde_json::to_string(job)?;
    db.prepare_cached("UPDATE jobs SET state = ?2, body = ?3 WHERE id = ?1")?
        .execute(params![job.id as i64, job.state.as_str(), body])?;
    Ok(())
}

/// Saves the run of job `id`.
fn put_run(db: &Connection, id: u64, run: &RunRecord) -> Result<(), StoreError> {
    db.prepare_cached(
        "INSERT INTO runs (job_id, body) VALUES (?1, ?2)
         ON CONFLICT(job_id) DO UPDATE SET body = excluded.body",
    )?
    .execute(params![id as i64, serde_json::to_string(run)?])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use procward_core::queue::{JobSpec, JobState};

    #[test]
    fn jobs_groups_and_runs_come_back_after_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("queue.db");
        {
            let mut store = Store::open(&path).unwrap();
            let mut job = Job::new(7, JobSpec::new(vec!["true".into()]), 1);
            store.insert(&job).unwrap();
            job.state = JobState::Running;
            store.update(&job).unwrap();
            store
                .insert(&Job::new(8, JobSpec::new(vec!["false".into()]), 2))
                .unwrap();
            store.delete(&[8]).unwrap();
            store
                .put_group(&Group {
                    name: "build".into(),
                    parallel: 2,
                    paused: false,
                })
                .unwrap();
            let run = RunRecord {
                child_pid: 10,
                child_start_time: 1,
                shim_pid: 9,
                shim_start_time: 1,
                child_start_ticks: Some(5),
                shim_start_ticks: Some(4),
                started_at_ms: 3,
                boot_id: None,
                unit: Some("run@3".into()),
            };
            store.put_run(7, &run).unwrap();
        }
        let loaded = Store::open(&path).unwrap().load().unwrap();
        assert_eq!(loaded.jobs.len(), 1);
        assert_eq!(loaded.jobs[0].state, JobState::Running);
        assert_eq!(loaded.last_id, 8, "ids are not reused after a delete");
        assert_eq!(loaded.groups[0].parallel, 2);
        assert_eq!(loaded.runs[0].0, 7);
        assert_eq!(loaded.runs[0].1.child_pid, 10);
        assert_eq!(
            loaded.runs[0].1.unit.as_deref(),
            Some("run@3"),
            "the kept unit"
        );
    }

    #[test]
    fn an_unused_queue_makes_no_file_until_its_first_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("queue.db");
        let mut store = Store::open(&path).unwrap();
        let loaded = store.load().unwrap();
        assert!(loaded.jobs.is_empty() && loaded.last_id == 0);
        assert!(!path.exists(), "opened without a write: no file");
        store
            .insert(&Job::new(1, JobSpec::new(vec!["true".into()]), 1))
            .unwrap();
        assert!(path.exists());
        assert_eq!(Store::open(&path).unwrap().load().unwrap().last_id, 1);
    }

    #[test]
    fn a_batch_commits_its_writes_together_and_an_empty_one_makes_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("queue.db");
        let mut store = Store::open(&path).unwrap();
        store.begin_batch();
        store.commit_batch().unwrap();
        assert!(!path.exists(), "a batch without writes opens nothing");

        store.begin_batch();
        let job = |id| Job::new(id, JobSpec::new(vec!["true".into()]), 1);
        store.insert(&job(1)).unwrap();
        let mut second = job(2);
        store.insert(&second).unwrap();
        second.state = JobState::Completed;
        store.end_run(&second).unwrap();
        // Another reader (a restarted daemon) sees none of it before the commit.
        assert!(Store::open(&path).unwrap().load().unwrap().jobs.is_empty());
        store.commit_batch().unwrap();
        let loaded = Store::open(&path).unwrap().load().unwrap();
        assert_eq!(loaded.jobs.len(), 2);
        assert_eq!(loaded.jobs[1].state, JobState::Completed);
        assert_eq!(loaded.last_id, 2);
        // After the batch each write commits on its own again.
        store.insert(&job(3)).unwrap();
        assert_eq!(Store::open(&path).unwrap().load().unwrap().last_id, 3);
    }
}
