//! The daemon's TCP listener: bearer-token auth (also for health), rotation, TLS, the
//! listener from the config file, and the Ports service. Every test runs its own daemon
//! in its own home.

mod common;

use std::time::Duration;

use common::grpc::{TcpDaemon, runtime};
use common::{Spawned, wait_for};
use procward_proto::v1;
use procward_proto::v1::process_manager_service_client::ProcessManagerServiceClient;
use tonic::Code;

#[test]
fn every_call_needs_the_current_token() {
    let tcp = TcpDaemon::start();
    runtime().block_on(async {
        for token in [None, Some("wrong"), Some("")] {
            let mut client = ProcessManagerServiceClient::new(tcp.channel_with(token).await);
            let status = client
                .get_system_info(v1::GetSystemInfoRequest {})
                .await
                .unwrap_err();
            assert_eq!(status.code(), Code::Unauthenticated, "{token:?}");
            assert_eq!(status.message(), "missing or invalid bearer token");
            let mut health =
                tonic_health::pb::health_client::HealthClient::new(tcp.channel_with(token).await);
            let status = health
                .check(tonic_health::pb::HealthCheckRequest::default())
                .await
                .unwrap_err();
            assert_eq!(status.code(), Code::Unauthenticated);
        }

        let mut health = tonic_health::pb::health_client::HealthClient::new(
            tcp.channel_with(Some(&tcp.token)).await,
        );
        let answer = health
            .check(tonic_health::pb::HealthCheckRequest {
                service: "procward.v1.ProcessManagerService".into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            answer.status,
            tonic_health::pb::health_check_response::ServingStatus::Serving as i32
        );

        // Rotation: the old token stops working at once, without a restart.
        let out = tcp
            .daemon
            .cmd()
            .args(["token", "--rotate"])
            .output()
            .unwrap();
        let rotated = String::from_utf8(out.stdout).unwrap().trim().to_owned();
        assert_ne!(rotated, tcp.token);
        let mut old = tcp.manager().await;
        let status = old
            .get_system_info(v1::GetSystemInfoRequest {})
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated);
        let mut new = ProcessManagerServiceClient::new(tcp.channel_with(Some(&rotated)).await);
        new.get_system_info(v1::GetSystemInfoRequest {})
            .await
            .unwrap();
    });
    let token_path = tcp.daemon.pw.dir().join("home/token");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(token_path).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn tls_listener_serves_only_tls_clients() {
    use tonic::transport::{Certificate, Channel, ClientTlsConfig};
    let daemon = common::daemon::Daemon::new();
    let dir = daemon.pw.dir();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert_pem, key_pem) = (cert.cert.pem(), cert.signing_key.serialize_pem());
    std::fs::write(dir.join("cert.pem"), &cert_pem).unwrap();
    std::fs::write(dir.join("key.pem"), &key_pem).unwrap();
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    daemon
        .cmd()
        .args([
            "daemon",
            "--detach",
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
        ])
        .arg(&cert_path)
        .arg("--tls-key")
        .arg(&key_path)
        .assert()
        .success();
    let info: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("home/tcp.json")).unwrap()).unwrap();
    assert_eq!(info["tls"], true);
    let address = info["address"].as_str().unwrap().to_owned();
    let token = String::from_utf8(daemon.cmd().arg("token").output().unwrap().stdout).unwrap();
    let bearer = common::grpc::Bearer(Some(token.trim().to_owned()));
    runtime().block_on(async {
        let tls = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(&cert_pem))
            .domain_name("localhost");
        let channel = Channel::from_shared(format!("https://{address}"))
            .unwrap()
            .tls_config(tls)
            .unwrap()
            .connect()
            .await
            .unwrap();
        let mut client = ProcessManagerServiceClient::with_interceptor(channel, bearer.clone());
        let info = client
            .get_system_info(v1::GetSystemInfoRequest {})
            .await
            .unwrap();
        assert!(info.into_inner().memory_total > 0);

        let plain = Channel::from_shared(format!("http://{address}"))
            .unwrap()
            .connect()
            .await;
        if let Ok(plain) = plain {
            let mut client = ProcessManagerServiceClient::with_interceptor(plain, bearer);
            let status = client
                .get_system_info(v1::GetSystemInfoRequest {})
                .await
                .unwrap_err();
            assert_ne!(status.code(), Code::Ok);
        }
    });
    let status = daemon.cmd().args(["daemon", "status"]).output().unwrap();
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains(&format!("tcp    {address} (TLS")), "{text}");
}

#[test]
fn listener_from_the_config_file_and_bad_listener_settings() {
    let daemon = common::daemon::Daemon::new();
    let config = daemon.pw.dir().join("procward.toml");
    std::fs::write(&config, "[daemon]\nlisten = \"127.0.0.1:0\"\n").unwrap();
    daemon
        .cmd()
        .arg("--config")
        .arg(&config)
        .args(["daemon", "--detach"])
        .assert()
        .success();
    let info_path = daemon.pw.dir().join("home/tcp.json");
    assert!(wait_for(Duration::from_secs(10), || info_path.exists()));
    let out = daemon
        .cmd()
        .args(["daemon", "status", "--json"])
        .output()
        .unwrap();
    let status = common::json(&out);
    assert!(
        status["tcp_address"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:"),
        "{status}"
    );

    let other = common::daemon::Daemon::new();
    for (args, message) in [
        (
            vec!["daemon", "--listen", "not-an-address"],
            "invalid value",
        ),
        (
            vec![
                "daemon",
                "--listen",
                "127.0.0.1:0",
                "--tls-cert",
                "/nonexistent.pem",
            ],
            "--tls-key",
        ),
    ] {
        let out = other.cmd().args(&args).output().unwrap();
        assert!(!out.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
    let bad = other.pw.dir().join("bad.toml");
    std::fs::write(&bad, "[daemon]\nlisten = \"localhost\"\n").unwrap();
    let out = other
        .cmd()
        .arg("--config")
        .arg(&bad)
        .arg("daemon")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected ADDRESS:PORT"));
    let out = other
        .cmd()
        .args([
            "daemon",
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            "/nonexistent.pem",
            "--tls-key",
            "/nonexistent.key",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent.pem"));
    assert!(!other.pw.dir().join("home/tcp.json").exists());
}

#[test]
fn ports_lists_holders_and_kills_by_port() {
    let tcp = TcpDaemon::start();
    let mut listener = Spawned::shell(
        "exec python3 -c \"import socket,time\ns=socket.socket(); s.bind(('127.0.0.1',0)); s.listen()\nprint(s.getsockname()[1], flush=True); time.sleep(60)\"",
    );
    let port: u32 = listener.read_line().trim().parse().unwrap();
    let own_port: u32 = tcp.address.rsplit(':').next().unwrap().parse().unwrap();
    runtime().block_on(async {
        let mut ports = tcp.ports().await;
        let listed = ports
            .list_ports(v1::ListPortsRequest {
                protocol: "tcp".into(),
                port,
            })
            .await
            .unwrap()
            .into_inner()
            .ports;
        assert_eq!(listed.len(), 1, "{listed:?}");
        assert_eq!(listed[0].processes[0].pid, listener.pid());
        for (protocol, port) in [("sctp", 0), ("tcp", 70_000)] {
            let status = ports
                .list_ports(v1::ListPortsRequest {
                    protocol: protocol.into(),
                    port,
                })
                .await
                .unwrap_err();
            assert_eq!(status.code(), Code::InvalidArgument);
        }
        let own = ports
            .kill_port(v1::KillPortRequest {
                port: own_port,
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(
            own.code(),
            Code::InvalidArgument,
            "procward's own port is protected"
        );
        let result = ports
            .kill_port(v1::KillPortRequest {
                port,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(result.success, "{result:?}");
        let none = ports
            .kill_port(v1::KillPortRequest {
                port,
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(none.code(), Code::NotFound);
    });
    assert!(wait_for(Duration::from_secs(5), || !listener.alive()));
}
