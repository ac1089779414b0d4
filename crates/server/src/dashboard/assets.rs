//! The dashboard's static files, embedded in the binary: htmx (vendored from the `htmx.org`
//! npm package, 0BSD licence, `crates/server/assets/`), the live-update script and the
//! stylesheet.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

const HTMX: &str = include_str!("../../assets/htmx.min.js");
const CSS: &str = include_str!("../../assets/dashboard.css");
const LIVE: &str = include_str!("../../assets/live.js");

pub async fn serve(Path(name): Path<String>) -> Response {
    let (body, content_type) = match name.as_str() {
        "htmx.min.js" => (HTMX, "text/javascript; charset=utf-8"),
        "dashboard.css" => (CSS, "text/css; charset=utf-8"),
        "live.js" => (LIVE, "text/javascript; charset=utf-8"),
        _ => return (StatusCode::NOT_FOUND, "no such asset").into_response(),
    };
    // the URLs carry the version (`?v=`), so a new binary's assets are fetched anew
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "public, max-age=86400")], body).into_response()
}
