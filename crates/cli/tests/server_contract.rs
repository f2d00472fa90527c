//! The daemon enforces its own contract: starts and ups sent straight over gRPC (as the
//! Python client, MCP and the web do, with no CLI in between) are validated once by the
//! daemon, refused with INVALID_ARGUMENT naming the field, and change nothing: `list` is
//! the same and no folder appears under `logs/`.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::grpc::{Authed, TcpDaemon, runtime};
use procward_core::supervisor::spec::ProcessSpec;
use procward_proto::convert::spec_to_proto;
use procward_proto::v1::{self, supervisor_client::SupervisorClient};
use tonic::Code;

fn spec(name: &str, deps: &[&str]) -> v1::ProcessSpec {
    let mut spec = ProcessSpec::new(name, vec!["sleep".into(), "60".into()]);
    spec.depends_on = deps.iter().map(|d| d.to_string()).collect();
    spec_to_proto(&spec)
}

/// Names of the folders under the daemon's `logs/`.
fn log_folders(home: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(home.join("logs"))
        .map(|dir| {
            dir.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

async fn names(supervisor: &mut SupervisorClient<Authed>) -> Vec<String> {
    let list = supervisor.list(v1::ListRequest::default()).await.unwrap();
    list.into_inner()
        .processes
        .into_iter()
        .map(|p| p.name)
        .collect()
}

/// Asserts `status` is INVALID_ARGUMENT and its message names `field`.
fn assert_refused(what: &str, status: tonic::Status, field: &str) {
    assert_eq!(status.code(), Code::InvalidArgument, "{what}: {status:?}");
    assert!(
        status.message().contains(field),
        "{what}: the message names {field}: {}",
        status.message()
    );
}

#[test]
fn bad_starts_and_ups_are_refused_with_the_field_and_change_nothing() {
    let tcp = TcpDaemon::start();
    let home = tcp.daemon.pw.dir().join("home");
    runtime().block_on(async {
        let mut supervisor = tcp.supervisor().await;
        let mut manager = tcp.manager().await;
        supervisor
            .start(v1::StartRequest {
                spec: Some(spec("base", &[])),
                replace: false,
            })
            .await
            .unwrap();
        let before = names(&mut supervisor).await;
        let folders = log_folders(&home);
        assert_eq!(before, ["base"]);

        let ups: Vec<(&str, Vec<v1::ProcessSpec>, &str)> = vec![
            (
                "cycle",
                vec![spec("a", &["b"]), spec("b", &["a"])],
                "depends_on",
            ),
            (
                "duplicate names",
                vec![spec("a", &[]), spec("a", &[])],
                "name",
            ),
            (
                "a good spec before an unknown dependency",
                vec![spec("good", &[]), spec("c", &["nowhere"])],
                "depends_on",
            ),
            (
                "a cycle through a registered process",
                vec![spec("base", &["d"]), spec("d", &["base"])],
                "depends_on",
            ),
        ];
        for (what, specs, field) in ups {
            let status = supervisor.up(v1::UpRequest { specs }).await.unwrap_err();
            assert_refused(what, status, field);
        }

        let mut starts: Vec<(&str, v1::ProcessSpec, &str)> =
            vec![("unknown dependency", spec("e", &["nowhere"]), "depends_on")];
        let mut empty_name = spec("x", &[]);
        empty_name.name.clear();
        starts.push(("empty name", empty_name, "name"));
        let mut big = spec("f", &[]);
        big.stop_timeout_ms = u64::MAX;
        starts.push(("stop timeout of 584 million years", big, "stop_timeout"));
        let mut big = spec("g", &[]);
        big.backoff_max_ms = 10 * 3_600_000;
        starts.push(("10h backoff", big, "backoff"));
        let mut big = spec("h", &[]);
        big.stable_after_ms = u64::MAX;
        starts.push(("endless stable_after", big, "stable_after"));
        let mut big = spec("i", &[]);
        big.health = Some(v1::HealthCheck {
            probe: Some(v1::health_check::Probe::Command("true".into())),
            interval_ms: u64::MAX,
            timeout_ms: 1000,
            retries: 3,
            start_period_ms: 0,
        });
        starts.push(("endless health interval", big, "health"));
        let mut nul = spec("j", &[]);
        nul.command = vec!["sleep\0".into()];
        starts.push(("NUL in the program", nul, "command"));
        for (what, spec, field) in starts {
            let request = v1::StartRequest {
                spec: Some(spec),
                replace: true,
            };
            let status = supervisor.start(request).await.unwrap_err();
            assert_refused(what, status, field);
        }

        let status = manager
            .start_process(v1::StartProcessRequest {
                command: "sleep".into(),
                args: vec!["60".into()],
                name: Some(String::new()),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_refused("StartProcess with name \"\"", status, "name");

        assert_eq!(names(&mut supervisor).await, before, "nothing registered");
        assert_eq!(log_folders(&home), folders, "no log folder created");
    });
}

#[test]
fn a_start_process_that_cannot_exec_leaves_no_log_folder() {
    let tcp = TcpDaemon::start();
    let home = tcp.daemon.pw.dir().join("home");
    // Executable, but not a program the kernel can run (no #! line): exec fails.
    let program = tcp.daemon.pw.dir().join("not-a-program");
    std::fs::write(&program, b"\x00\x01garbage").unwrap();
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
    runtime().block_on(async {
        let mut manager = tcp.manager().await;
        let mut supervisor = tcp.supervisor().await;
        let status = manager
            .start_process(v1::StartProcessRequest {
                command: program.display().to_string(),
                name: Some("broken".into()),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
        assert!(names(&mut supervisor).await.is_empty(), "not registered");
    });
    assert!(
        log_folders(&home).is_empty(),
        "a failed start leaves no folder: {:?}",
        log_folders(&home)
    );
    assert!(!home.join("run/broken").exists());
}

#[test]
fn a_good_up_in_any_order_starts_dependencies_first() {
    let tcp = TcpDaemon::start();
    runtime().block_on(async {
        let mut supervisor = tcp.supervisor().await;
        let specs = vec![spec("web", &["db"]), spec("db", &[])];
        let started = supervisor
            .up(v1::UpRequest { specs })
            .await
            .unwrap()
            .into_inner();
        let order: Vec<&str> = started.processes.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(order, ["db", "web"]);
        let status = supervisor
            .start(v1::StartRequest {
                spec: Some(spec("api", &["db"])),
                replace: false,
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            status.name, "api",
            "a dependency on a registered process is fine"
        );
    });
}
