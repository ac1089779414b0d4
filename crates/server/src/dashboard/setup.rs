//! First run: while no user exists, `confab serve` prints a one-time link
//! (`{public_url}/setup?token=…`, valid for a day) and `/setup` offers owner sign-up through
//! it. The token works once, and none works after the first user exists. Only its SHA-256 is
//! stored.

use super::page::{render, PageError};
use super::session;
use crate::passwords;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use confab_domain::{Email, UserRole};
use confab_storage::{NewUser, Store};
use serde::Deserialize;
use time::{Duration, OffsetDateTime};

/// How long a setup link works.
pub const VALID_FOR: Duration = Duration::hours(24);

/// When no user exists: a new setup token, and the link to print. `None` when users exist.
pub async fn first_run_link(store: &dyn Store, public_url: &str) -> anyhow::Result<Option<String>> {
    if store.count_users().await? > 0 {
        return Ok(None);
    }
    let token = session::random_token();
    let now = OffsetDateTime::now_utc();
    store.create_setup_token(&session::hash_token(&token), now + VALID_FOR, now).await?;
    Ok(Some(format!("{}/setup?token={token}", public_url.trim_end_matches('/'))))
}

const USED: &str = "This setup link was used already, has expired, or a user exists now. Sign in at /login, or make a user with `confab user add EMAIL --role owner`; restarting `confab serve` on a database without users prints a new link.";

#[derive(Template)]
#[template(path = "setup.html")]
struct SetupPage {
    token: String,
    email: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
}

pub async fn form(State(state): State<AppState>, Query(query): Query<TokenQuery>) -> Result<Response, PageError> {
    let token = query.token.unwrap_or_default();
    if !state.store.setup_token_is_usable(&session::hash_token(&token), OffsetDateTime::now_utc()).await? {
        return Err(PageError::Gone(USED.into()));
    }
    Ok(render(StatusCode::OK, &SetupPage { token, email: String::new(), error: None }))
}

#[derive(Deserialize)]
pub struct SetupForm {
    token: String,
    email: String,
    password: String,
    password_again: String,
}

pub async fn submit(State(state): State<AppState>, Form(form): Form<SetupForm>) -> Result<Response, PageError> {
    let again = |error: String| {
        render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &SetupPage { token: form.token.clone(), email: form.email.clone(), error: Some(error) },
        )
    };
    let email = match Email::parse(&form.email) {
        Ok(email) => email,
        Err(e) => return Ok(again(e.message)),
    };
    if form.password != form.password_again {
        return Ok(again("The two passwords differ.".into()));
    }
    let password = form.password.clone();
    let hashed = tokio::task::spawn_blocking(move || passwords::hash(&password))
        .await
        .map_err(|e| PageError::Internal(e.into()))?;
    let password_hash = match hashed {
        Ok(hash) => hash,
        Err(e) => return Ok(again(e.to_string())),
    };
    let user = NewUser { workspace_id: state.default_workspace, email, role: UserRole::Owner, password_hash };
    let made =
        state.store.redeem_setup_token(&session::hash_token(&form.token), user, OffsetDateTime::now_utc()).await?;
    let Some(owner) = made else { return Err(PageError::Gone(USED.into())) };
    tracing::info!(user_id = %owner.id, "owner signed up through the setup link");
    let cookie = session::start(&state, &owner).await?;
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response())
}
