//! `Host` and `Origin` checks on the TCP listener (DNS rebinding and cross-site
//! WebSocket hijacking defence), with raw HTTP requests and a tonic client whose
//! `:authority` is foreign.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::daemon::Daemon;
use common::grpc::{Bearer, TcpDaemon, runtime};
use procward_proto::v1;

/// Sends one HTTP/1.1 GET with these headers; returns the status code and body.
fn request(address: &str, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    send(address, "GET", path, headers, "")
}

/// Sends one HTTP/1.1 request; returns the status code and body.
fn send(
    address: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut text = format!(
        "{method} {path} HTTP/1.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("\r\n");
    text.push_str(body);
    stream.write_all(text.as_bytes()).unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP answer: {answer:?}"));
    let body = answer
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    (status, body)
}

const POLLING: &str = "/socket.io/?EIO=4&transport=polling";

#[test]
fn foreign_hosts_and_origins_are_refused() {
    let tcp = TcpDaemon::start();
    let port = tcp.address.rsplit(':').next().unwrap().to_owned();
    let own = format!("127.0.0.1:{port}");
    let evil = format!("evil.example:{port}");

    // The dashboard: loopback names and IP addresses, any port; not a foreign name.
    for host in [own.as_str(), "localhost", "[::1]:1", "10.0.0.1:80"] {
        assert_eq!(
            request(&tcp.address, "/", &[("Host", host)]).0,
            200,
            "{host}"
        );
    }
    let (status, body) = request(&tcp.address, "/", &[("Host", &evil)]);
    assert_eq!(status, 403);
    assert!(
        body.contains("host 'evil.example:") && body.contains("allowed_hosts"),
        "{body}"
    );
    assert_eq!(request(&tcp.address, "/", &[]).0, 403, "no Host at all");

    // The socket.io handshake (polling; the WebSocket upgrade starts the same way).
    let ok = |origin: &str| request(&tcp.address, POLLING, &[("Host", &own), ("Origin", origin)]);
    for origin in [
        format!("http://{own}"),
        "http://localhost:3000".into(),
        "http://[::1]:9".into(),
    ] {
        let (status, body) = ok(&origin);
        assert_eq!(status, 200, "{origin}: {body}");
        assert!(body.starts_with("0{"), "an engine.io open packet: {body}");
    }
    for origin in [
        "http://evil.example",
        "null",
        "http://127.0.0.1.evil.example",
    ] {
        let (status, body) = ok(origin);
        assert_eq!(status, 403, "{origin}: {body}");
        assert!(
            body.contains("origin") && body.contains("allowed_origins"),
            "{body}"
        );
    }
    let upgrade = [
        ("Host", own.as_str()),
        ("Origin", "http://evil.example"),
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Version", "13"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];
    let path = "/socket.io/?EIO=4&transport=websocket";
    assert_eq!(request(&tcp.address, path, &upgrade).0, 403);
    assert_eq!(request(&tcp.address, POLLING, &[("Host", &evil)]).0, 403);

    // gRPC: the target host:port is the :authority; a foreign one is refused by name.
    runtime().block_on(async {
        let foreign: tonic::transport::Uri = format!("http://{evil}").parse().unwrap();
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", tcp.address))
            .unwrap()
            .origin(foreign)
            .connect()
            .await
            .unwrap();
        let authed = tonic::service::interceptor::InterceptedService::new(
            channel,
            Bearer(Some(tcp.token.clone())),
        );
        let mut client =
            v1::process_manager_service_client::ProcessManagerServiceClient::new(authed);
        let status = client
            .get_system_info(v1::GetSystemInfoRequest {})
            .await
            .unwrap_err();
        assert_eq!(status.code(), tonic::Code::PermissionDenied);
        assert!(
            status.message().contains("evil.example"),
            "{}",
            status.message()
        );
        // The usual client (authority 127.0.0.1:PORT) is served.
        tcp.manager()
            .await
            .get_system_info(v1::GetSystemInfoRequest {})
            .await
            .unwrap();
    });
}

#[test]
fn configured_hosts_and_origins_are_allowed() {
    let daemon = Daemon::new();
    let config = daemon.pw.dir().join("config/procward");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(
        config.join("config.toml"),
        "[daemon]\nallowed_hosts = [\"procward.test\"]\nallowed_origins = [\"https://dash.test\"]\n",
    )
    .unwrap();
    let tcp = TcpDaemon::start_in(daemon, &["--allow-host", "other.test"]);
    for host in ["procward.test:1", "PROCWARD.TEST", "other.test"] {
        assert_eq!(
            request(&tcp.address, "/", &[("Host", host)]).0,
            200,
            "{host}"
        );
    }
    assert_eq!(request(&tcp.address, "/", &[("Host", "third.test")]).0, 403);
    let origin = |o: &str| {
        request(
            &tcp.address,
            POLLING,
            &[("Host", "procward.test"), ("Origin", o)],
        )
        .0
    };
    assert_eq!(origin("https://dash.test"), 200);
    assert_eq!(origin("http://procward.test"), 200, "same origin");
    assert_eq!(origin("https://evil.test"), 403);

    // `/mcp` follows the same rule (and the allow-list) as everything else.
    let bearer = format!("Bearer {}", tcp.token);
    let initialize = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;
    let mcp = |host: &str| {
        let headers = [
            ("Host", host),
            ("Authorization", bearer.as_str()),
            ("Content-Type", "application/json"),
            ("Accept", "application/json, text/event-stream"),
        ];
        send(&tcp.address, "POST", "/mcp", &headers, initialize)
    };
    let (status, body) = mcp("procward.test");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("serverInfo"), "{body}");
    assert_eq!(mcp("third.test").0, 403);
}
