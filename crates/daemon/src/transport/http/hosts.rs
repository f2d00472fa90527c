//! `Host` and `Origin` checks on the TCP listener, against DNS rebinding (a page on
//! `evil.example` whose name now resolves to 127.0.0.1 reaching the daemon) and
//! cross-site WebSocket hijacking (a foreign page opening the socket.io WebSocket).
//!
//! A request's host (`Host`, or HTTP/2's `:authority`, which is what gRPC clients send:
//! the target `host:port`) must be an IP literal (rebinding needs a name), `localhost`
//! (or a `*.localhost` name), the machine's host name, or a name in the allow-list. A
//! request with an `Origin` (browsers send one on WebSocket handshakes and cross-origin
//! requests) must come from the same origin as its host, a loopback origin
//! (`localhost`, `127.0.0.1`, `[::1]`, any port), or an origin in the allow-list.

use std::net::IpAddr;

use axum::body::Body;
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode, header};

/// Which hosts and origins the TCP listener answers; `*` in a list allows any.
#[derive(Debug, Clone, Default)]
pub struct HostPolicy {
    /// Extra host names (no port; compared case-insensitively), e.g. `procward.example.com`.
    pub allowed_hosts: Vec<String>,
    /// Extra origins, `scheme://host[:port]`, e.g. `https://dash.example.com`.
    pub allowed_origins: Vec<String>,
    /// This machine's host name (allowed as a host without configuration).
    pub hostname: Option<String>,
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub String);

impl HostPolicy {
    /// The policy with these allow-lists, plus the machine's host name.
    pub fn new(allowed_hosts: Vec<String>, allowed_origins: Vec<String>) -> Self {
        let hostname = nix::unistd::gethostname()
            .ok()
            .and_then(|name| name.into_string().ok())
            .filter(|name| !name.is_empty());
        Self {
            allowed_hosts,
            allowed_origins,
            hostname,
        }
    }

    /// Whether a request with this URI authority (HTTP/2) and these headers is allowed.
    pub fn check(&self, authority: Option<&str>, headers: &HeaderMap) -> Result<(), Refusal> {
        let host = match authority {
            Some(authority) => authority.to_owned(),
            None => match headers.get(header::HOST).map(HeaderValue::to_str) {
                Some(Ok(host)) => host.to_owned(),
                Some(Err(_)) => return Err(Refusal("the Host header is not text".into())),
                None => return Err(Refusal("the request has no Host header".into())),
            },
        };
        let name = host_name(&host);
        if !self.host_allowed(&name) {
            return Err(Refusal(format!(
                "host '{host}' is not allowed (DNS rebinding defence): use localhost or an IP \
                 address, or add the name to [daemon] allowed_hosts"
            )));
        }
        match headers.get(header::ORIGIN).map(HeaderValue::to_str) {
            None => Ok(()),
            Some(Ok(origin)) if self.origin_allowed(origin, &host) => Ok(()),
            Some(Ok(origin)) => Err(Refusal(format!(
                "origin '{origin}' is not allowed (cross-site request defence): open the \
                 dashboard from the daemon's own address, or add the origin to [daemon] \
                 allowed_origins"
            ))),
            Some(Err(_)) => Err(Refusal("the Origin header is not text".into())),
        }
    }

    fn host_allowed(&self, name: &str) -> bool {
        if name.is_empty() {
            return false;
        }
        name.parse::<IpAddr>().is_ok()
            || is_localhost(name)
            || self
                .hostname
                .as_deref()
                .is_some_and(|h| h.eq_ignore_ascii_case(name))
            || self
                .allowed_hosts
                .iter()
                .any(|h| h == "*" || host_name(h).eq_ignore_ascii_case(name))
    }

    fn origin_allowed(&self, origin: &str, host: &str) -> bool {
        let Some((scheme, authority)) = origin.split_once("://") else {
            return false; // `null` (files, sandboxed frames) or garbage
        };
        if !matches!(scheme, "http" | "https") || authority.contains('/') {
            return false;
        }
        let name = host_name(authority);
        authority.eq_ignore_ascii_case(host)
            || is_loopback(&name)
            || self
                .allowed_origins
                .iter()
                .any(|o| o == "*" || o.trim_end_matches('/').eq_ignore_ascii_case(origin))
    }
}

/// The name part of `host[:port]` or `[v6]:port`, lowercase, without a trailing dot.
fn host_name(host: &str) -> String {
    let host = host.trim();
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or_default()
    } else if host.matches(':').count() > 1 {
        host // a bare IPv6 address
    } else {
        host.split(':').next().unwrap_or_default()
    };
    name.trim_end_matches('.').to_ascii_lowercase()
}

fn is_localhost(name: &str) -> bool {
    name == "localhost" || name.ends_with(".localhost")
}

fn is_loopback(name: &str) -> bool {
    is_localhost(name) || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The answer to a refused request: 403 with the reason, or, to a gRPC client,
/// `PERMISSION_DENIED` with it (so the client shows the reason).
pub fn refuse<B>(request: &Request<B>, why: &Refusal) -> Response<Body> {
    let grpc = request
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"application/grpc"));
    if grpc {
        let (parts, body) = tonic::Status::permission_denied(why.0.clone())
            .into_http::<tonic::body::Body>()
            .into_parts();
        return Response::from_parts(parts, Body::new(body));
    }
    let mut response = Response::new(Body::from(format!("403 Forbidden: {}\n", why.0)));
    *response.status_mut() = StatusCode::FORBIDDEN;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        map
    }

    fn policy() -> HostPolicy {
        HostPolicy {
            allowed_hosts: vec!["procward.example.com".into()],
            allowed_origins: vec!["https://dash.example.com".into()],
            hostname: Some("box".into()),
        }
    }

    #[test]
    fn hosts() {
        let p = policy();
        for host in [
            "localhost:1",
            "LOCALHOST",
            "app.localhost:8",
            "127.0.0.1:5",
            "[::1]:9",
            "10.1.2.3:50051",
            "::1",
            "box:3",
            "procward.example.com:443",
            "localhost.",
        ] {
            assert_eq!(p.check(None, &headers(&[("host", host)])), Ok(()), "{host}");
        }
        for host in ["evil.example:5", "localhost.evil.example", "", "box.evil"] {
            assert!(
                p.check(None, &headers(&[("host", host)])).is_err(),
                "{host}"
            );
        }
        assert!(p.check(None, &HeaderMap::new()).is_err(), "no Host");
        // HTTP/2's :authority wins over a Host header.
        assert!(
            p.check(Some("evil.example:1"), &headers(&[("host", "localhost")]))
                .is_err()
        );
        assert_eq!(p.check(Some("127.0.0.1:1"), &HeaderMap::new()), Ok(()));
    }

    #[test]
    fn origins() {
        let p = policy();
        let ok = |host: &str, origin: &str| {
            p.check(None, &headers(&[("host", host), ("origin", origin)]))
        };
        assert_eq!(ok("127.0.0.1:7", "http://127.0.0.1:7"), Ok(()));
        assert_eq!(ok("127.0.0.1:7", "http://localhost:3000"), Ok(()));
        assert_eq!(ok("127.0.0.1:7", "http://[::1]:1"), Ok(()));
        assert_eq!(
            ok("10.0.0.5:7", "https://10.0.0.5:7"),
            Ok(()),
            "same origin"
        );
        assert_eq!(ok("127.0.0.1:7", "https://dash.example.com"), Ok(()));
        for origin in [
            "http://evil.example",
            "null",
            "http://10.0.0.6:7",
            "file://",
            "ftp://localhost",
            "http://localhost.evil.example",
        ] {
            assert!(ok("127.0.0.1:7", origin).is_err(), "{origin}");
        }
        let open = HostPolicy {
            allowed_hosts: vec!["*".into()],
            allowed_origins: vec!["*".into()],
            hostname: None,
        };
        let h = headers(&[("host", "evil.example"), ("origin", "http://evil.example")]);
        assert_eq!(open.check(None, &h), Ok(()));
    }
}
