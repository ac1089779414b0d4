//! Signing in and out: `GET /login` (the form), `POST /login` (checks the argon2 password of a
//! user made with `confab user add` or the setup link; at most [`ATTEMPTS_PER_MINUTE`] per
//! client address and e-mail, then 429), and `POST /logout`.

use super::client_ip::ClientIp;
use super::login_throttle::LoginThrottle;
use super::page::{render, PageError};
use super::session::{self, CurrentUser};
use crate::passwords;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use confab_domain::Email;
use serde::Deserialize;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

pub const ATTEMPTS_PER_MINUTE: u32 = 10;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    next: String,
    email: String,
    error: Option<String>,
    no_users: bool,
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

pub async fn form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<NextQuery>,
) -> Result<Response, PageError> {
    let next = session::safe_next(query.next.as_deref());
    if session::current(&state, &headers).await?.is_some() {
        return Ok(Redirect::to(&next).into_response());
    }
    let no_users = state.store.count_users().await? == 0;
    Ok(render(StatusCode::OK, &LoginPage { next, email: String::new(), error: None, no_users }))
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    next: Option<String>,
}

pub async fn submit(
    State(state): State<AppState>,
    Extension(throttle): Extension<Arc<LoginThrottle>>,
    ClientIp(ip): ClientIp,
    Form(form): Form<LoginForm>,
) -> Result<Response, PageError> {
    if let Err(wait) = throttle.attempt(ip, &form.email, Instant::now()) {
        return Err(PageError::TooManyAttempts { retry_after_secs: wait.as_secs().max(1) });
    }
    let next = session::safe_next(form.next.as_deref());
    let user = match Email::parse(&form.email) {
        Ok(email) => state.store.user_by_email(&email).await?,
        Err(_) => None,
    };
    // an unknown e-mail costs the same hashing work as a wrong password
    let phc = user.as_ref().map_or_else(|| dummy_hash().to_string(), |u| u.password_hash.clone());
    let password = form.password;
    let valid = tokio::task::spawn_blocking(move || passwords::verify(&password, &phc))
        .await
        .map_err(|e| PageError::Internal(e.into()))?;
    match user {
        Some(user) if valid => {
            let cookie = session::start(&state, &user).await?;
            tracing::info!(user_id = %user.id, "dashboard login");
            Ok(([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response())
        }
        _ => Ok(render(
            StatusCode::UNAUTHORIZED,
            &LoginPage {
                next,
                email: form.email,
                error: Some("The e-mail or the password is wrong.".into()),
                no_users: false,
            },
        )),
    }
}

pub async fn logout(
    State(state): State<AppState>,
    Extension(current): Extension<CurrentUser>,
) -> Result<Response, PageError> {
    state.store.delete_session(&current.token_hash).await?;
    Ok(([(header::SET_COOKIE, session::clearing_cookie(&state))], Redirect::to("/login")).into_response())
}

/// A valid argon2 hash of no one's password.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| passwords::hash(&session::random_token()).unwrap_or_default())
}
