//! Settings → API keys (`/settings/api-keys`): the workspace's keys (name, prefix, created,
//! revoked). Admins and owners create one — shown once, on the page that answers the form;
//! only its hash is stored — and revoke them.

use super::display;
use super::page::{render, require_admin, Layout, PageError};
use super::session::CurrentUser;
use crate::state::AppState;
use argon2::password_hash::rand_core::{OsRng, RngCore};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use confab_domain::{ApiKeyId, ApiKeySecret};
use serde::Deserialize;

pub struct KeyRow {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub created: String,
    pub revoked: Option<String>,
}

#[derive(Template)]
#[template(path = "api_keys.html")]
struct ApiKeysPage {
    layout: Layout,
    can_configure: bool,
    keys: Vec<KeyRow>,
    /// A key just made, in clear: shown this once.
    new_key: Option<String>,
    error: Option<String>,
}

async fn page(
    state: &AppState,
    current: &CurrentUser,
    new_key: Option<String>,
    error: Option<String>,
) -> Result<ApiKeysPage, PageError> {
    let keys = state
        .store
        .list_api_keys(current.user.workspace_id)
        .await?
        .into_iter()
        .map(|k| KeyRow {
            id: k.id.to_string(),
            name: k.name,
            prefix: k.display_prefix,
            created: display::datetime(k.created_at),
            revoked: k.revoked_at.map(display::datetime),
        })
        .collect();
    Ok(ApiKeysPage {
        layout: Layout::new(state, current, "settings", "API keys"),
        can_configure: current.user.role.can_configure(),
        keys,
        new_key,
        error,
    })
}

pub async fn show(
    State(state): State<AppState>,
    Extension(current): Extension<CurrentUser>,
) -> Result<Response, PageError> {
    Ok(render(StatusCode::OK, &page(&state, &current, None, None).await?))
}

#[derive(Deserialize)]
pub struct CreateForm {
    name: String,
}

/// `POST /settings/api-keys`: answers with the page showing the new key once.
pub async fn create(
    State(state): State<AppState>,
    Extension(current): Extension<CurrentUser>,
    Form(form): Form<CreateForm>,
) -> Result<Response, PageError> {
    require_admin(&current)?;
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        let p = page(&state, &current, None, Some("A key's name is 1 to 100 characters.".into())).await?;
        return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &p));
    }
    let mut random = [0u8; 32];
    OsRng.fill_bytes(&mut random);
    let secret = ApiKeySecret::from_random(random);
    let key = state.store.create_api_key(current.user.workspace_id, name, &secret).await?;
    tracing::info!(api_key_id = %key.id, user_id = %current.user.id, "API key created from the dashboard");
    let p = page(&state, &current, Some(secret.secret.expose().to_string()), None).await?;
    Ok(render(StatusCode::OK, &p))
}

/// `POST /settings/api-keys/{id}/revoke`
pub async fn revoke(
    State(state): State<AppState>,
    Extension(current): Extension<CurrentUser>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    require_admin(&current)?;
    let id: ApiKeyId = id.parse().map_err(|_| PageError::NotFound("api key"))?;
    state.store.revoke_api_key(current.user.workspace_id, id).await?;
    tracing::info!(api_key_id = %id, user_id = %current.user.id, "API key revoked from the dashboard");
    Ok(Redirect::to("/settings/api-keys").into_response())
}
