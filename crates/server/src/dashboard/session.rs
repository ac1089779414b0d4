//! Login sessions: a random token in an HttpOnly, SameSite=Lax cookie (Secure when the public
//! URL is https), of which the database keeps only the SHA-256. [`require_login`] guards every
//! dashboard page: no live session → `/login`; a POST without the session's CSRF token → 403;
//! a viewer's POST (other than logging out) → 403.

use super::csrf;
use super::page::PageError;
use crate::state::AppState;
use argon2::password_hash::rand_core::{OsRng, RngCore};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use confab_domain::{User, UserRole};
use confab_storage::{NewSession, StoreError};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

pub const COOKIE: &str = "confab_session";
/// How long a login lasts.
pub const LIFETIME: Duration = Duration::days(7);

/// The signed-in person, put in each guarded request's extensions.
#[derive(Clone, Debug)]
pub struct CurrentUser {
    pub user: User,
    /// What this session's forms and htmx requests must send back.
    pub csrf_token: String,
    pub token_hash: String,
}

/// 32 random bytes, hex: session, CSRF and setup tokens.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Starts a session for `user`; returns the `Set-Cookie` value.
pub async fn start(state: &AppState, user: &User) -> Result<HeaderValue, StoreError> {
    let token = random_token();
    let now = OffsetDateTime::now_utc();
    let session = NewSession {
        token_hash: hash_token(&token),
        user_id: user.id,
        csrf_token: random_token(),
        expires_at: now + LIFETIME,
    };
    state.store.create_session(&session, now).await?;
    let cookie = format!(
        "{COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
        LIFETIME.whole_seconds(),
        secure_attribute(state)
    );
    HeaderValue::from_str(&cookie).map_err(|e| StoreError::Corrupt(format!("session cookie: {e}")))
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn clearing_cookie(state: &AppState) -> HeaderValue {
    let cookie = format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{}", secure_attribute(state));
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static("confab_session=; Max-Age=0"))
}

fn secure_attribute(state: &AppState) -> &'static str {
    if state.settings.public_url().starts_with("https://") {
        "; Secure"
    } else {
        ""
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// The live session the request's cookie names, if any.
pub async fn current(state: &AppState, headers: &HeaderMap) -> Result<Option<CurrentUser>, StoreError> {
    let Some(token) = cookie(headers, COOKIE).filter(|t| !t.is_empty()) else { return Ok(None) };
    let token_hash = hash_token(token);
    let session = state.store.session_by_hash(&token_hash, OffsetDateTime::now_utc()).await?;
    Ok(session.map(|s| CurrentUser { user: s.user, csrf_token: s.csrf_token, token_hash }))
}

/// Middleware of every guarded dashboard route.
pub async fn require_login(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let current = match current(&state, request.headers()).await {
        Ok(current) => current,
        Err(err) => return PageError::from(err).into_response(),
    };
    let Some(current) = current else { return to_login(&request) };
    let mut request = request;
    if request.method() == Method::POST {
        request = match csrf::verified(request, &current.csrf_token).await {
            Ok(request) => request,
            Err(err) => return err.into_response(),
        };
        if current.user.role == UserRole::Viewer && request.uri().path() != "/logout" {
            return PageError::Forbidden("Your role is viewer: you can read everything but change nothing. Ask an admin for the agent role to reply and take over.".into()).into_response();
        }
    }
    request.extensions_mut().insert(current);
    next.run(request).await
}

/// A redirect to the login page that comes back here afterwards (an htmx request is told to
/// load the login page as a whole).
fn to_login(request: &Request) -> Response {
    let back = if request.method() == Method::GET {
        request.uri().path_and_query().map_or("/", |p| p.as_str()).to_string()
    } else {
        "/".to_string()
    };
    let target =
        format!("/login?{}", form_urlencoded::Serializer::new(String::new()).append_pair("next", &back).finish());
    if request.headers().contains_key("hx-request") {
        let mut response = axum::http::StatusCode::OK.into_response();
        if let Ok(value) = HeaderValue::from_str(&target) {
            response.headers_mut().insert("hx-redirect", value);
        }
        return response;
    }
    Redirect::to(&target).into_response()
}

/// Where to go after logging in: a local path, never another site.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => path.to_string(),
        _ => "/".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_among_others_and_next_stays_local() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("a=1; confab_session=abc; b=2"));
        assert_eq!(cookie(&headers, COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, "missing"), None);
        assert_eq!(safe_next(Some("/conversations?type=test")), "/conversations?type=test");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(None), "/");
        assert_eq!(hash_token("x").len(), 64);
        assert_ne!(random_token(), random_token());
    }
}
