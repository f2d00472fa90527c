//! The TCP listener's router driven in-process with `tower::ServiceExt::oneshot`: the
//! dashboard is public, gRPC and `/mcp` need the bearer token, and a gRPC call with it
//! reaches the same engine the test drives directly.

mod common;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use common::Fixture;
use http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use procward_core::supervisor::spec::ProcessSpec;
use procward_daemon::token::{self, TokenCheck};
use procward_daemon::transport::grpc::Services;
use procward_daemon::transport::grpc::supervisor::SupervisorService;
use prost::Message;
use tower::ServiceExt;

async fn router(fixture: &Fixture) -> (axum::Router, String) {
    let token = token::load_or_create(&fixture.home.token_file()).expect("token");
    let supervisor = SupervisorService::new(
        fixture.engine.clone(),
        fixture.home.clone(),
        Arc::new(tokio::sync::Notify::new()),
    );
    let services = Services::new(supervisor, fixture.engine.clone())
        .await
        .expect("services");
    let router = procward_daemon::transport::http::router(
        &services,
        fixture.engine.clone(),
        TokenCheck::new(fixture.home.token_file()),
        procward_mcp::Policy::default(),
        fixture.owned.clone(),
        Duration::from_secs(5),
    );
    (router, token)
}

/// A unary gRPC request: the 5-byte frame header, then the message.
fn grpc(path: &str, message: &impl Message, token: Option<&str>) -> Request<Body> {
    let body = message.encode_to_vec();
    let mut framed = vec![0u8];
    framed.extend_from_slice(&(body.len() as u32).to_be_bytes());
    framed.extend_from_slice(&body);
    let mut request = Request::post(path)
        .header(header::CONTENT_TYPE, "application/grpc")
        .header("te", "trailers");
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    request.body(Body::from(framed)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_is_public_and_everything_else_needs_the_token() {
    let fixture = Fixture::new();
    let (router, token) = router(&fixture).await;

    let page = router
        .clone()
        .oneshot(Request::get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.into_body().collect().await.unwrap().to_bytes();
    assert!(
        String::from_utf8_lossy(&html).contains("<html"),
        "the dashboard's page"
    );

    for bearer in [None, Some("wrong"), Some("")] {
        let mut request = Request::post("/mcp").header(header::CONTENT_TYPE, "application/json");
        if let Some(value) = bearer {
            request = request.header(header::AUTHORIZATION, format!("Bearer {value}"));
        }
        let answer = router
            .clone()
            .oneshot(request.body(Body::from("{}")).unwrap())
            .await
            .unwrap();
        assert_eq!(
            answer.status(),
            StatusCode::UNAUTHORIZED,
            "bearer {bearer:?}"
        );
    }

    let refused = router
        .clone()
        .oneshot(grpc(
            "/procward.v1.Supervisor/List",
            &procward_proto::v1::ListRequest::default(),
            Some(&format!("{token}x")),
        ))
        .await
        .unwrap();
    assert_eq!(
        refused.headers().get("grpc-status").map(|v| v.as_bytes()),
        Some(&b"16"[..]),
        "UNAUTHENTICATED"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grpc_call_with_the_token_reaches_the_engine() {
    let fixture = Fixture::new();
    let (router, token) = router(&fixture).await;
    let spec = ProcessSpec::new("napper", vec!["sleep".into(), "30".into()]);
    fixture
        .engine
        .supervisor()
        .start(spec, false)
        .await
        .expect("starts");

    let answer = router
        .oneshot(grpc(
            "/procward.v1.Supervisor/List",
            &procward_proto::v1::ListRequest::default(),
            Some(&token),
        ))
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let collected = answer.into_body().collect().await.unwrap();
    let status = collected
        .trailers()
        .and_then(|t| t.get("grpc-status"))
        .map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(status.as_deref(), Some("0"), "grpc-status OK");
    let bytes = collected.to_bytes();
    assert!(bytes.len() >= 5, "a framed message");
    let list = procward_proto::v1::ListResponse::decode(&bytes[5..]).expect("a ListResponse");
    let names: Vec<_> = list.processes.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["napper"]);
}
