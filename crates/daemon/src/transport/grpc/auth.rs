//! The TCP listener's gate: every request, gRPC or HTTP (the MCP endpoint), must carry
//! `authorization: Bearer TOKEN`. A refusal says nothing but that: UNAUTHENTICATED for
//! gRPC, 401 for HTTP.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::{HeaderValue, StatusCode, header};

use crate::token::TokenCheck;

/// What a refused caller is told.
const REFUSAL: &str = "missing or invalid bearer token";

/// Passes requests with the current token on; answers the rest itself.
pub async fn require_bearer(
    State(tokens): State<TokenCheck>,
    request: Request,
    next: Next,
) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or_default();
    if !presented.is_empty() && tokens.admits(presented) {
        return next.run(request).await;
    }
    let grpc = request
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"application/grpc"));
    if grpc {
        let (parts, body) = tonic::Status::unauthenticated(REFUSAL)
            .into_http::<tonic::body::Body>()
            .into_parts();
        return Response::from_parts(parts, Body::new(body));
    }
    let mut response = Response::new(Body::from(REFUSAL));
    *response.status_mut() = StatusCode::UNAUTHORIZED;
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}
