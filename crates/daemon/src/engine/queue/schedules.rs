//! The queue actor's schedules: adding and removing them, one timer per schedule for
//! its next fire, and each fire queueing a copy of the job (see
//! `procward_core::queue::Schedule` for `no_overlap` and `catch_up`).

use std::time::Duration;

use procward_core::queue::{Schedule, ScheduleSpec};

use super::actor::{Actor, Internal, now_ms, store_error};
use crate::engine::error::EngineError;

impl Actor {
    pub(super) fn restore_schedules(&mut self, schedules: Vec<Schedule>) {
        let now = now_ms();
        for mut schedule in schedules {
            let name = schedule.spec.name.clone();
            let make_up = schedule.on_restore(now);
            self.schedules.insert(name.clone(), schedule);
            if make_up {
                tracing::info!(%name, "making up a fire missed while the daemon was down");
                self.fire(&name);
            }
            self.save_schedule(&name);
            self.arm_schedule(&name);
        }
    }

    pub(super) fn add_schedule(&mut self, spec: ScheduleSpec) -> Result<Schedule, EngineError> {
        let now = now_ms();
        spec.validate(now)
            .map_err(|e| EngineError::Invalid(e.to_string()))?;
        if self.schedules.contains_key(&spec.name) {
            return Err(EngineError::Invalid(format!(
                "a schedule named {:?} exists; remove it first",
                spec.name
            )));
        }
        self.check_limits(&spec.job)?;
        self.check_group(&spec.job.group)?;
        let schedule = Schedule::new(spec, now);
        self.store.put_schedule(&schedule).map_err(store_error)?;
        let name = schedule.spec.name.clone();
        self.schedules.insert(name.clone(), schedule.clone());
        self.arm_schedule(&name);
        Ok(schedule)
    }

    pub(super) fn remove_schedule(&mut self, name: &str) -> Result<Schedule, EngineError> {
        let schedule = self
            .schedules
            .remove(name)
            .ok_or_else(|| EngineError::NotFound(format!("no schedule {name:?}")))?;
        self.store.delete_schedule(name).map_err(store_error)?;
        Ok(schedule)
    }

    fn arm_schedule(&self, name: &str) {
        let Some(at) = self.schedules.get(name).and_then(|s| s.next_ms) else {
            return;
        };
        let wait = Duration::from_millis(at.saturating_sub(now_ms()));
        let internal = self.internal.clone();
        let name = name.to_owned();
        tokio::spawn(async move {
            tokio::time::sleep(wait).await;
            let _ = internal.send(Internal::ScheduleDue { name, at });
        });
    }

    /// A fire time came: queue the job (unless the previous one still runs under
    /// `no_overlap`), then wait for the next.
    pub(super) fn on_schedule_due(&mut self, name: &str, at: u64) {
        // A timer of a schedule removed or re-added meanwhile names another fire time.
        if self.schedules.get(name).and_then(|s| s.next_ms) != Some(at) {
            return;
        }
        self.fire(name);
        if let Some(schedule) = self.schedules.get_mut(name) {
            schedule.next_ms = schedule.spec.when.next_after(at.max(now_ms()));
        }
        self.save_schedule(name);
        self.arm_schedule(name);
    }

    fn fire(&mut self, name: &str) {
        let Some(schedule) = self.schedules.get(name) else {
            return;
        };
        let busy = schedule
            .last_job
            .and_then(|id| self.jobs.get(&id))
            .is_some_and(|job| !job.state.is_final());
        if schedule.spec.no_overlap && busy {
            tracing::info!(%name, "schedule fire skipped: the previous job has not ended");
            if let Some(schedule) = self.schedules.get_mut(name) {
                schedule.skipped += 1;
            }
            return;
        }
        let mut job = schedule.spec.job.clone();
        job.labels.insert("schedule".into(), name.to_owned());
        match self.add(job) {
            Ok(job) => {
                if let Some(schedule) = self.schedules.get_mut(name) {
                    schedule.last_job = Some(job.id);
                    schedule.last_fire_ms = Some(now_ms());
                }
            }
            Err(e) => tracing::warn!(%name, error = %e, "schedule cannot queue its job"),
        }
    }

    fn save_schedule(&self, name: &str) {
        if let Some(schedule) = self.schedules.get(name)
            && let Err(e) = self.store.put_schedule(schedule)
        {
            tracing::error!(%name, error = %e, "cannot save schedule");
        }
    }
}
