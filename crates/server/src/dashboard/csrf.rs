//! CSRF protection: every POST of a session must carry the session's own token, as the
//! `X-CSRF-Token` header (htmx sends it from `hx-headers` on the page body) or as the `csrf`
//! field of a urlencoded form. Compared in constant time.

use super::page::PageError;
use axum::body::Body;
use axum::extract::Request;
use subtle::ConstantTimeEq;

/// Largest form body read to find the token (the dashboard's forms are small).
const MAX_FORM_BYTES: usize = 256 * 1024;

pub const FIELD: &str = "csrf";
pub const HEADER: &str = "x-csrf-token";

/// The request, unchanged, if it carries `expected`; 403 otherwise.
pub async fn verified(request: Request, expected: &str) -> Result<Request, PageError> {
    let refused = || {
        PageError::Forbidden(
            "This form has expired or did not come from this dashboard (its security token is missing or wrong). Reload the page and try again.".into(),
        )
    };
    if let Some(header) = request.headers().get(HEADER).and_then(|v| v.to_str().ok()) {
        return if matches(header, expected) { Ok(request) } else { Err(refused()) };
    }
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|_| PageError::Invalid("The form is too large.".into()))?;
    let presented = form_urlencoded::parse(&bytes).find(|(k, _)| k == FIELD).map(|(_, v)| v.into_owned());
    match presented {
        Some(token) if matches(&token, expected) => Ok(Request::from_parts(parts, Body::from(bytes))),
        _ => Err(refused()),
    }
}

fn matches(presented: &str, expected: &str) -> bool {
    presented.len() == expected.len() && bool::from(presented.as_bytes().ct_eq(expected.as_bytes()))
}
