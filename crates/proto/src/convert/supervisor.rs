//! Conversions for the `Supervisor` service: specs and managed-process views. Incoming
//! specs are validated here, so a malformed request is refused at the edge with a message
//! saying why.

use std::path::PathBuf;
use std::time::Duration;

use procward_core::Signal;
use procward_core::supervisor::shim::ExitRecord;
use procward_core::supervisor::spec::{Backoff, HealthCheck, LogLimits, Probe, ProcessSpec};
use procward_core::supervisor::view::ManagedView;
use procward_core::sys::Metrics;

use super::enums::{health_from_proto, restart_from_proto, state_from_proto};
use super::limits::{limits_from_proto, limits_to_proto, statuses_from_proto, statuses_to_proto};
use crate::v1;

fn ms(duration: Duration) -> u64 {
    duration.as_millis().min(u128::from(u64::MAX)) as u64
}

/// A core spec as a wire message.
pub fn spec_to_proto(spec: &ProcessSpec) -> v1::ProcessSpec {
    v1::ProcessSpec {
        name: spec.name.clone(),
        command: spec.command.clone(),
        env: spec.env.clone().into_iter().collect(),
        cwd: spec.cwd.as_ref().map(|c| c.display().to_string()),
        restart: v1::RestartPolicy::from(spec.restart).into(),
        max_restarts: spec.max_restarts,
        backoff_base_ms: ms(spec.backoff.base),
        backoff_max_ms: ms(spec.backoff.max),
        stable_after_ms: ms(spec.stable_after),
        stop_signal: spec.stop_signal.name().to_owned(),
        stop_timeout_ms: ms(spec.stop_timeout),
        autostart: spec.autostart,
        health: spec.health.as_ref().map(check_to_proto),
        depends_on: spec.depends_on.clone(),
        log_max_bytes: spec.logs.max_bytes,
        log_max_files: spec.logs.max_files,
        log_timestamps: spec.logs.timestamps,
        watch: spec.watch.clone(),
        watch_ignore: spec.watch_ignore.clone(),
        cron_restart: spec.cron_restart.clone(),
        success_exit_codes: spec.success_exit_codes.clone(),
        readiness: spec.readiness.as_ref().map(check_to_proto),
        instances: spec.instances,
        limits: limits_to_proto(&spec.limits),
    }
}

fn check_to_proto(check: &HealthCheck) -> v1::HealthCheck {
    let probe = match &check.probe {
        Probe::Command(command) => v1::health_check::Probe::Command(command.clone()),
        Probe::Tcp { host, port } => v1::health_check::Probe::Tcp(format!("{host}:{port}")),
        Probe::Http { url } => v1::health_check::Probe::Http(url.clone()),
    };
    v1::HealthCheck {
        probe: Some(probe),
        interval_ms: ms(check.interval),
        timeout_ms: ms(check.timeout),
        retries: check.retries,
        start_period_ms: ms(check.start_period),
    }
}

/// A wire spec as a core spec; the error says which field cannot be converted. Validation
/// is the daemon's, once, for every interface (`Supervisor::check` in procward-daemon).
pub fn spec_from_proto(spec: v1::ProcessSpec) -> Result<ProcessSpec, String> {
    let restart = restart_from_proto(spec.restart)?;
    let stop_signal: Signal = spec
        .stop_signal
        .parse()
        .map_err(|e| format!("stop_signal: {e}"))?;
    let health = spec
        .health
        .map(|c| check_from_proto("health", c))
        .transpose()?;
    let readiness = spec
        .readiness
        .map(|c| check_from_proto("readiness", c))
        .transpose()?;
    let mut core = ProcessSpec::new(spec.name, spec.command);
    core.env = spec.env.into_iter().collect();
    core.cwd = spec.cwd.filter(|c| !c.is_empty()).map(PathBuf::from);
    core.restart = restart;
    core.max_restarts = spec.max_restarts;
    core.backoff = Backoff {
        base: Duration::from_millis(spec.backoff_base_ms),
        max: Duration::from_millis(spec.backoff_max_ms),
    };
    core.stable_after = Duration::from_millis(spec.stable_after_ms);
    core.stop_signal = stop_signal;
    core.stop_timeout = Duration::from_millis(spec.stop_timeout_ms);
    core.autostart = spec.autostart;
    core.health = health;
    core.depends_on = spec.depends_on;
    core.logs = LogLimits {
        max_bytes: spec.log_max_bytes,
        max_files: spec.log_max_files,
        timestamps: spec.log_timestamps,
    };
    core.limits = limits_from_proto(spec.limits)?;
    core.watch = spec.watch;
    core.watch_ignore = spec.watch_ignore;
    core.cron_restart = spec.cron_restart.filter(|c| !c.is_empty());
    core.success_exit_codes = spec.success_exit_codes;
    core.readiness = readiness;
    // 0 is what a client that leaves the field out sends: one process.
    core.instances = spec.instances.max(1);
    Ok(core)
}

fn check_from_proto(field: &str, check: v1::HealthCheck) -> Result<HealthCheck, String> {
    let probe = match check.probe {
        Some(v1::health_check::Probe::Command(command)) => Probe::Command(command),
        Some(v1::health_check::Probe::Tcp(address)) => {
            let (host, port) = address
                .rsplit_once(':')
                .ok_or_else(|| format!("{field} tcp '{address}': expected host:port"))?;
            let port = port
                .parse()
                .map_err(|_| format!("{field} tcp '{address}': bad port"))?;
            Probe::Tcp {
                host: host.trim_matches(['[', ']']).to_owned(),
                port,
            }
        }
        Some(v1::health_check::Probe::Http(url)) => Probe::Http { url },
        None => {
            return Err(format!(
                "{field}: a probe (command, tcp or http) is required"
            ));
        }
    };
    Ok(HealthCheck {
        probe,
        interval: Duration::from_millis(check.interval_ms),
        timeout: Duration::from_millis(check.timeout_ms),
        retries: check.retries,
        start_period: Duration::from_millis(check.start_period_ms),
    })
}

/// A managed process as a wire message.
pub fn view_to_proto(view: &ManagedView) -> v1::ManagedProcess {
    let exit = view.last_exit.as_ref();
    v1::ManagedProcess {
        name: view.spec.name.clone(),
        state: v1::ProcessState::from(view.state).into(),
        pid: view.pid.unwrap_or(0),
        restarts: view.restarts,
        uptime_ms: view.uptime_ms,
        cpu_percent: view.cpu_percent,
        memory_rss: view.memory_rss,
        last_exit_code: exit.and_then(|e| e.exit_code),
        last_signal: exit.and_then(|e| e.signal).map(signal_name),
        last_exit_at_ms: exit.map(|e| e.ended_at_ms),
        next_restart_at_ms: view.next_restart_at_ms,
        reason: view.reason.clone(),
        stdout_log: view.stdout_log.clone(),
        stderr_log: view.stderr_log.clone(),
        health: v1::HealthState::from(view.health).into(),
        readiness: v1::HealthState::from(view.readiness).into(),
        spec: Some(spec_to_proto(&view.spec)),
        started_at_ms: view.started_at_ms.unwrap_or(0),
        start_time: view.start_time.unwrap_or(0),
        log_dropped_bytes: view.log_dropped_bytes,
        log_error: view.log_error.clone(),
        registry_error: view.registry_error.clone(),
        start_ticks: view.start_ticks.unwrap_or(0),
        shim_pid: view.shim_pid.unwrap_or(0),
        shim_start_ticks: view.shim_start_ticks.unwrap_or(0),
        metrics: view.metrics.as_ref().map(metrics_to_proto),
        tree: view.tree.as_ref().map(metrics_to_proto),
        limits: statuses_to_proto(&view.limits),
        limit_breach: view.limit_breach.clone(),
        limit_breaches: view.limit_breaches,
    }
}

fn signal_name(number: i32) -> String {
    Signal::from_number(number).map_or_else(|| number.to_string(), |s| s.name().to_owned())
}

/// A wire message as a managed-process view (for clients that print or re-serialise it).
pub fn view_from_proto(process: v1::ManagedProcess) -> Result<ManagedView, String> {
    let spec = process.spec.ok_or("a managed process without its spec")?;
    let state = state_from_proto(process.state)?;
    let health = health_from_proto(process.health)?;
    // 0: from a daemon that predates readiness checks.
    let readiness = match process.readiness {
        0 => procward_core::supervisor::view::Health::None,
        value => health_from_proto(value)?,
    };
    let last_exit = match (process.last_exit_code, &process.last_signal) {
        (None, None) => None,
        (code, signal) => Some(ExitRecord {
            exit_code: code,
            signal: signal
                .as_deref()
                .and_then(|s| s.parse::<Signal>().ok())
                .map(Signal::number),
            ended_at_ms: process.last_exit_at_ms.unwrap_or(0),
        }),
    };
    Ok(ManagedView {
        spec: spec_from_proto(spec)?,
        state,
        pid: (process.pid != 0).then_some(process.pid),
        start_time: (process.start_time != 0).then_some(process.start_time),
        start_ticks: (process.start_ticks != 0).then_some(process.start_ticks),
        shim_pid: (process.shim_pid != 0).then_some(process.shim_pid),
        shim_start_ticks: (process.shim_start_ticks != 0).then_some(process.shim_start_ticks),
        restarts: process.restarts,
        started_at_ms: (process.started_at_ms != 0).then_some(process.started_at_ms),
        uptime_ms: process.uptime_ms,
        cpu_percent: process.cpu_percent,
        memory_rss: process.memory_rss,
        last_exit,
        next_restart_at_ms: process.next_restart_at_ms,
        reason: process.reason,
        health,
        readiness,
        stdout_log: process.stdout_log,
        stderr_log: process.stderr_log,
        log_dropped_bytes: process.log_dropped_bytes,
        log_error: process.log_error,
        registry_error: process.registry_error,
        metrics: process.metrics.map(metrics_from_proto),
        tree: process.tree.map(metrics_from_proto),
        limits: statuses_from_proto(process.limits),
        limit_breach: process.limit_breach,
        limit_breaches: process.limit_breaches,
    })
}

/// Metrics as a wire message.
pub fn metrics_to_proto(m: &Metrics) -> v1::ProcessMetrics {
    v1::ProcessMetrics {
        processes: m.processes,
        cpu_percent: m.cpu_percent,
        memory_rss: m.memory_rss,
        open_fds: m.open_fds,
        io_read_bytes: m.io_read_bytes,
        io_write_bytes: m.io_write_bytes,
        io_rchar: m.io_rchar,
        io_wchar: m.io_wchar,
        cpu_user_ms: m.cpu_user_ms,
        cpu_system_ms: m.cpu_system_ms,
        threads: m.threads,
    }
}

/// A wire message as metrics.
pub fn metrics_from_proto(m: v1::ProcessMetrics) -> Metrics {
    Metrics {
        processes: m.processes,
        cpu_percent: m.cpu_percent,
        memory_rss: m.memory_rss,
        open_fds: m.open_fds,
        io_read_bytes: m.io_read_bytes,
        io_write_bytes: m.io_write_bytes,
        io_rchar: m.io_rchar,
        io_wchar: m.io_wchar,
        cpu_user_ms: m.cpu_user_ms,
        cpu_system_ms: m.cpu_system_ms,
        threads: m.threads,
    }
}
