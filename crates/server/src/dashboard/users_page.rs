//! Settings → Users (`/settings/users`): who can sign in, with which role. Admins and owners add
//! people (with a first password they pass on; at least 10 characters, argon2-hashed), up to
//! their own role: an admin cannot make an owner. They also change a role, again up to their
//! own and only of people whose role is not above theirs; the last owner cannot be demoted.

use super::display;
use super::page::{render, require_admin, Layout, PageError};
use super::session::CurrentUser;
use crate::passwords;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use confab_domain::{Email, UserId, UserRole};
use confab_storage::{NewUser, LAST_OWNER};
use serde::Deserialize;

pub struct UserRow {
    pub id: String,
    pub email: String,
    pub role: &'static str,
    pub created: String,
    pub you: bool,
    /// Whether the signed-in person may change this user's role.
    pub changeable: bool,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    layout: Layout,
    can_configure: bool,
    users: Vec<UserRow>,
    /// Roles the signed-in person may give.
    roles: Vec<&'static str>,
    error: Option<String>,
    email: String,
}

async fn page(
    state: &AppState,
    current: &CurrentUser,
    error: Option<String>,
    email: String,
) -> Result<UsersPage, PageError> {
    let users = state
        .store
        .list_users(current.user.workspace_id)
        .await?
        .into_iter()
        .map(|u| UserRow {
            id: u.id.to_string(),
            changeable: current.user.role.can_configure() && u.role <= current.user.role,
            email: u.email.as_str().to_string(),
            role: u.role.as_str(),
            created: display::datetime(u.created_at),
            you: u.id == current.user.id,
        })
        .collect();
    let roles = [UserRole::Viewer, UserRole::Agent, UserRole::Admin, UserRole::Owner]
        .into_iter()
        .filter(|r| *r <= current.user.role)
        .map(UserRole::as_str)
        .collect();
    Ok(UsersPage {
        layout: Layout::new(state, current, "settings", "Users"),
        can_configure: current.user.role.can_configure(),
        users,
        roles,
        error,
        email,
    })
}

pub async fn show(
    State(state): State<AppState>,
    Extension(current): Extension<CurrentUser>,
) -> Result<Response, PageError> {
    Ok(render(StatusCode::OK, &page(&state, &current, None, String::new()).await?))
}

#[derive(Deserialize)]
pub struct AddForm {
    email: String,
    role: String,
    password: String,
}

/// `POST /settings/users`
pub async fn add(
    State(state): State<AppState>,
    Extension(current): Extension<CurrentUser>,
    Form(form): Form<AddForm>,
) -> Result<Response, PageError> {
    require_admin(&current)?;
    let refuse = |message: String| async {
        let p = page(&state, &current, Some(message), form.email.clone()).await?;
        Ok::<_, PageError>(render(StatusCode::UNPROCESSABLE_ENTITY, &p))
    };
    let email = match Email::parse(&form.email) {
        Ok(email) => email,
        Err(e) => return refuse(e.message).await,
    };
    let role = match UserRole::parse(&form.role) {
        Ok(role) if role <= current.user.role => role,
        Ok(_) => return refuse("You cannot give a role above your own.".into()).await,
        Err(e) => return refuse(e.message).await,
    };
    let password = form.password.clone();
    let hashed = tokio::task::spawn_blocking(move || passwords::hash(&password))
        .await
        .map_err(|e| PageError::Internal(e.into()))?;
    let password_hash = match hashed {
        Ok(hash) => hash,
        Err(e) => return refuse(e.to_string()).await,
    };
    let new = NewUser { workspace_id: current.user.workspace_id, email: email.clone(), role, password_hash };
    match state.store.create_user(new).await {
        Ok(user) => {
            tracing::info!(user_id = %user.id, by = %current.user.id, role = role.as_str(), "user added from the dashboard");
            Ok(Redirect::to("/settings/users").into_response())
        }
        Err(err) if err.is_conflict_on("users_email_key", "users.email") => {
            refuse(format!("A user with the e-mail {email} already exists.")).await
        }
        Err(err) => Err(err.into()),
    }
}

#[derive(Deserialize)]
pub struct RoleForm {
    role: String,
}

/// `POST /settings/users/{id}/role`
pub async fn set_role(
    State(state): State<AppState>,
    Extension(current): Extension<CurrentUser>,
    Path(id): Path<String>,
    Form(form): Form<RoleForm>,
) -> Result<Response, PageError> {
    require_admin(&current)?;
    let ws = current.user.workspace_id;
    let id: UserId = id.parse().map_err(|_| PageError::NotFound("user"))?;
    let refuse = |status: StatusCode, message: String| {
        let (state, current) = (&state, &current);
        async move {
            let p = page(state, current, Some(message), String::new()).await?;
            Ok::<_, PageError>(render(status, &p))
        }
    };
    let role = match UserRole::parse(&form.role) {
        Ok(role) => role,
        Err(e) => return refuse(StatusCode::UNPROCESSABLE_ENTITY, e.message).await,
    };
    let Some(user) = state.store.list_users(ws).await?.into_iter().find(|u| u.id == id) else {
        return Err(PageError::NotFound("user"));
    };
    if role > current.user.role || user.role > current.user.role {
        return Err(PageError::Forbidden(
            "You cannot give a role above your own, nor change the role of someone above you.".into(),
        ));
    }
    match state.store.set_user_role(ws, id, role).await {
        Ok(changed) => {
            tracing::info!(user_id = %changed.id, by = %current.user.id, role = role.as_str(), "role changed from the dashboard");
            Ok(Redirect::to("/settings/users").into_response())
        }
        Err(err) if err.is_conflict_on(LAST_OWNER, LAST_OWNER) => {
            let message = format!("{} is the workspace's last owner: make someone else owner first.", user.email);
            refuse(StatusCode::CONFLICT, message).await
        }
        Err(err) => Err(err.into()),
    }
}
