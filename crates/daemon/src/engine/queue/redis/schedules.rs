//! Schedules on the shared queue: stored in Redis, watched by every host, and each fire
//! queued by exactly one of them: the host that moves the schedule's next fire time
//! first (`claim`, a compare-and-set in one script) queues the job; the others see the
//! time already moved. The rules are the embedded queue's (`no_overlap` skips a fire
//! while the previous job has not ended; a fire missed while every daemon was down is
//! made up once with `catch_up`).

use std::collections::BTreeMap;

use procward_core::queue::{Schedule, ScheduleSpec};
use redis::AsyncCommands;

use super::{Shared, to_json};
use crate::engine::error::EngineError;
use crate::engine::queue::actor::now_ms;

/// A fire later than this was missed (every daemon was down), not merely late.
const MISSED_AFTER_MS: u64 = 60_000;

impl Shared {
    pub(super) async fn add_schedule(&self, spec: ScheduleSpec) -> Result<Schedule, EngineError> {
        let now = now_ms();
        spec.validate(now)
            .map_err(|e| EngineError::Invalid(e.to_string()))?;
        self.check_job(&spec.job).await?;
        let schedule = Schedule::new(spec, now);
        let json = to_json("schedule", &schedule)?;
        let added: u8 = self
            .link
            .run(&self.link.scripts.schedules, |s| {
                s.arg("add")
                    .arg(&schedule.spec.name)
                    .arg(&json)
                    .arg(next_arg(schedule.next_ms));
            })
            .await?;
        if added == 0 {
            return Err(EngineError::Invalid(format!(
                "a schedule named {:?} exists; remove it first",
                schedule.spec.name
            )));
        }
        Ok(schedule)
    }

    pub(super) async fn remove_schedule(&self, name: &str) -> Result<Schedule, EngineError> {
        let json: Option<String> = self
            .link
            .run(&self.link.scripts.schedules, |s| {
                s.arg("remove").arg(name);
            })
            .await?;
        let json = json.ok_or_else(|| EngineError::NotFound(format!("no schedule {name:?}")))?;
        decode(&json)
    }

    pub(super) async fn schedules(&self) -> Result<Vec<Schedule>, EngineError> {
        let all: BTreeMap<String, String> = self
            .link
            .con()
            .hgetall(self.link.key(&["schedules"]))
            .await
            .map_err(|e| self.link.unavailable(e))?;
        all.values().map(|json| decode(json)).collect()
    }

    /// Fires the schedules that are due, each once across hosts.
    pub(super) async fn fire_due(&self) -> Result<(), EngineError> {
        let now = now_ms();
        let due: Vec<(String, f64)> = self
            .link
            .con()
            .zrangebyscore_withscores(self.link.key(&["schedule_next"]), "-inf", now)
            .await
            .map_err(|e| self.link.unavailable(e))?;
        for (name, at) in due {
            let at = at as u64;
            let json: Option<String> = self
                .link
                .con()
                .hget(self.link.key(&["schedules"]), &name)
                .await
                .map_err(|e| self.link.unavailable(e))?;
            let Some(mut schedule) = json.as_deref().map(decode).transpose()? else {
                continue;
            };
            let missed = at + MISSED_AFTER_MS < now;
            schedule.next_ms = schedule.spec.when.next_after(at.max(now));
            let fire = !missed || schedule.spec.catch_up;
            let busy = match schedule.last_job.filter(|_| schedule.spec.no_overlap) {
                Some(id) => self.link.job(id).await.is_ok_and(|j| !j.state.is_final()),
                None => false,
            };
            if fire && busy {
                schedule.skipped += 1;
            }
            let json = to_json("schedule", &schedule)?;
            let won: u8 = self
                .link
                .run(&self.link.scripts.schedules, |s| {
                    s.arg("claim")
                        .arg(&name)
                        .arg(at)
                        .arg(&json)
                        .arg(next_arg(schedule.next_ms));
                })
                .await?;
            if won == 0 || !fire || busy {
                continue;
            }
            if missed {
                tracing::info!(%name, "making up a fire missed while every daemon was down");
            }
            let mut job = schedule.spec.job.clone();
            job.labels.insert("schedule".into(), name.clone());
            match self.add(job).await {
                Ok(job) => {
                    schedule.last_job = Some(job.id);
                    schedule.last_fire_ms = Some(now_ms());
                    let json = to_json("schedule", &schedule)?;
                    let _: u8 = self
                        .link
                        .run(&self.link.scripts.schedules, |s| {
                            s.arg("update").arg(&name).arg(&json);
                        })
                        .await?;
                }
                Err(e) => tracing::warn!(%name, error = %e, "schedule cannot queue its job"),
            }
        }
        Ok(())
    }
}

fn next_arg(next_ms: Option<u64>) -> String {
    next_ms.map_or_else(String::new, |at| at.to_string())
}

fn decode(json: &str) -> Result<Schedule, EngineError> {
    serde_json::from_str(json)
        .map_err(|e| EngineError::Internal(format!("redis: a schedule does not decode: {e}")))
}
