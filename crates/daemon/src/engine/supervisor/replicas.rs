//! Names that may stand for a set of replicas: every operation that takes a name acts on
//! the process of that exact name, or else on every replica of the set it names (`web`
//! for `web:0`, `web:1`, ...), as `pm2 stop web` does. Also `scale` and `reload`, which
//! only make sense here.

use std::time::Duration;

use futures_util::future::join_all;
use procward_core::Signal;
use procward_core::supervisor::spec::replica;
use procward_core::supervisor::spec::{ProcessSpec, SpecError};
use procward_core::supervisor::view::ManagedView;

use super::{Supervisor, patience, refuse_replica_name};
use crate::engine::actor::Command;
use crate::engine::error::{Result, SupervisorError};

impl Supervisor {
    /// What `name` stands for: itself when registered, else its set's replicas by index;
    /// unknown otherwise.
    pub async fn members(&self, name: &str) -> Result<Vec<String>> {
        let members = self
            .call(|reply| Command::Members {
                name: name.to_owned(),
                reply,
            })
            .await?;
        if members.is_empty() {
            return Err(SupervisorError::UnknownName(name.to_owned()));
        }
        Ok(members)
    }

    /// Runs `op` on every member of `name` at once; the views in member order.
    async fn each<'a, F, Fut>(&'a self, name: &str, op: F) -> Result<Vec<ManagedView>>
    where
        F: Fn(String) -> Fut,
        Fut: std::future::Future<Output = Result<ManagedView>> + 'a,
    {
        let members = self.members(name).await?;
        join_all(members.into_iter().map(op))
            .await
            .into_iter()
            .collect()
    }

    /// Stops a process (every replica of a set) and waits until its whole group is
    /// gone; the answer is the first member's view.
    pub async fn stop(&self, name: &str) -> Result<ManagedView> {
        first(self.stop_all(name).await?)
    }

    /// [`Self::stop`], answering with every member's view.
    pub async fn stop_all(&self, name: &str) -> Result<Vec<ManagedView>> {
        self.each(name, |n| async move { self.stop_one(&n).await })
            .await
    }

    /// Stops (if needed) and starts again, resetting the back-off; every replica of a set
    /// at once (`reload` replaces them one by one instead).
    pub async fn restart(&self, name: &str) -> Result<ManagedView> {
        first(
            self.each(name, |n| async move { self.restart_one(&n).await })
                .await?,
        )
    }

    /// SIGSTOP to the group (of every replica).
    pub async fn pause(&self, name: &str) -> Result<ManagedView> {
        first(
            self.each(name, |n| async move { self.pause_one(&n).await })
                .await?,
        )
    }

    /// SIGCONT to the group (of every replica).
    pub async fn resume(&self, name: &str) -> Result<ManagedView> {
        first(
            self.each(name, |n| async move { self.resume_one(&n).await })
                .await?,
        )
    }

    /// Any signal to the group (of every replica).
    pub async fn signal(&self, name: &str, signal: Signal) -> Result<ManagedView> {
        first(
            self.each(name, |n| async move { self.signal_one(&n, signal).await })
                .await?,
        )
    }

    /// Stops a process (every replica) and forgets it; its logs stay on disk.
    pub async fn delete(&self, name: &str) -> Result<()> {
        self.stop_all(name).await?;
        for member in self.members(name).await? {
            self.delete_one(&member).await?;
        }
        Ok(())
    }

    /// One managed process; for a set, its first replica.
    pub async fn status(&self, name: &str) -> Result<ManagedView> {
        let member = self.members(name).await?.remove(0);
        self.status_one(&member).await
    }

    /// Every member's view: the process itself, or each replica of the set.
    pub async fn status_all(&self, name: &str) -> Result<Vec<ManagedView>> {
        let mut views = Vec::new();
        for member in self.members(name).await? {
            views.push(self.status_one(&member).await?);
        }
        Ok(views)
    }

    /// Zero-downtime restart: each member in turn gets a new run that must be ready
    /// before its old run is stopped, so a set always has all but one replica serving
    /// and a single process never stops serving. Replicas without any check are
    /// restarted one at a time instead (each running before the next); a single process
    /// without one is refused.
    pub async fn reload(&self, name: &str) -> Result<Vec<ManagedView>> {
        let members = self.members(name).await?;
        let rolling = members.len() > 1;
        let mut views = Vec::with_capacity(members.len());
        for member in members {
            let spec = self.status_one(&member).await?.spec;
            let view = match patience(&spec) {
                None if rolling => self.restart_one(&member).await?,
                None => self.reload_one(&member, Duration::ZERO).await?,
                Some(patience) => self.reload_one(&member, patience).await?,
            };
            views.push(view);
        }
        Ok(views)
    }

    async fn reload_one(&self, name: &str, patience: Duration) -> Result<ManagedView> {
        let wait = self.call(|reply| Command::Reload {
            name: name.to_owned(),
            reply,
        });
        match tokio::time::timeout(patience.max(Duration::from_secs(1)), wait).await {
            Ok(answer) => answer?,
            Err(_) => {
                let abort = Command::AbortReload {
                    name: name.to_owned(),
                };
                let _ = self.commands.send(abort).await;
                Err(SupervisorError::State(format!(
                    "'{name}': the new instance did not become ready within {patience:?}; \
                     the old one keeps running"
                )))
            }
        }
    }

    /// Sets the number of replicas of `name` (1 to 256). Missing replicas start, and are
    /// waited for until ready, before surplus ones (highest index first) are deleted; a
    /// plain process becomes the set `NAME:0..N-1` the same way, so the set never has
    /// fewer ready processes than before or after. Answers with the set's views.
    pub async fn scale(&self, name: &str, instances: u32) -> Result<Vec<ManagedView>> {
        refuse_replica_name(name)?;
        replica::check_count(instances).map_err(|e| match e {
            SpecError::Invalid { field, reason } => {
                SupervisorError::Invalid(format!("{field}: {reason}"))
            }
            other => SupervisorError::Invalid(other.to_string()),
        })?;
        let members = self.members(name).await?;
        let plain = members.len() == 1 && members[0] == name;
        if plain && instances == 1 {
            return self.status_all(name).await;
        }
        let mut template: ProcessSpec = self.status_one(&members[0]).await?.spec;
        template.name = name.to_owned();
        template.instances = instances;
        let wanted: Vec<ProcessSpec> = (0..instances)
            .map(|index| {
                let mut spec = template.clone();
                spec.name = replica::replica_name(name, index);
                spec
            })
            .collect();
        let missing: Vec<ProcessSpec> = wanted
            .iter()
            .filter(|spec| !members.contains(&spec.name))
            .cloned()
            .collect();
        let missing = self.check(missing).await?;
        let starting = missing.iter().filter(|s| s.autostart).count() as u32;
        self.gate(starting).await?;
        for spec in missing {
            let (new, wait) = (spec.name.clone(), patience(&spec));
            self.start_checked(spec, false).await?;
            if let Some(patience) = wait.filter(|_| template.autostart) {
                self.wait_healthy(&new, patience).await?;
            }
        }
        for member in members.iter().rev() {
            if !wanted.iter().any(|spec| spec.name == *member) {
                self.delete_one(member).await?;
            } else {
                self.call(|reply| Command::SetInstances {
                    name: member.clone(),
                    instances,
                    reply,
                })
                .await??;
            }
        }
        self.status_all(name).await
    }
}

fn first(mut views: Vec<ManagedView>) -> Result<ManagedView> {
    if views.is_empty() {
        return Err(SupervisorError::Internal("no process acted on".into()));
    }
    Ok(views.remove(0))
}
