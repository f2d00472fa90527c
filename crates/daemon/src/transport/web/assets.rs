//! The dashboard's files (`web/` in the repository), embedded in the binary and served at
//! `/` on the TCP listener. Debug builds read them from disk, so editing the front end
//! needs no rebuild.

use axum::body::Body;
use axum::response::Response;
use axum::routing::get;
use http::{HeaderValue, StatusCode, header};

#[derive(rust_embed::Embed)]
#[folder = "../../web/"]
#[exclude = "*.md"]
struct Assets;

/// A route per embedded file, and `/` for `index.html`.
pub fn routes() -> axum::Router {
    let mut router = axum::Router::new().route("/", get(|| async { serve("index.html") }));
    for path in Assets::iter() {
        let owned = path.to_string();
        router = router.route(
            &format!("/{path}"),
            get(move || async move { serve(&owned) }),
        );
    }
    router
}

fn serve(path: &str) -> Response {
    let Some(file) = Assets::get(path) else {
        let mut missing = Response::new(Body::from("not found"));
        *missing.status_mut() = StatusCode::NOT_FOUND;
        return missing;
    };
    let mime = file.metadata.mimetype().to_owned();
    let mut response = Response::new(Body::from(file.data.into_owned()));
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&mime) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    // The token is entered on the page: no framing by other sites, no sniffing.
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
