//! What every dashboard page shares: the [`Layout`] (who is signed in, the CSRF token, the
//! navigation, the "no LLM configured" banner), rendering a template into a response, and
//! [`PageError`], the dashboard's one error type, shown as a page that says what to do next.

use super::session::CurrentUser;
use crate::http::ApiError;
use crate::state::AppState;
use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use confab_storage::StoreError;

/// The frame around every signed-in page (`templates/base.html`).
pub struct Layout {
    pub title: String,
    pub email: String,
    pub role: &'static str,
    pub csrf: String,
    pub can_reply: bool,
    /// Which navigation entry is current: `conversations`, `analytics` or `settings`.
    pub nav: &'static str,
    pub llm_missing: bool,
    pub version: &'static str,
}

impl Layout {
    pub fn new(state: &AppState, current: &CurrentUser, nav: &'static str, title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            email: current.user.email.as_str().to_string(),
            role: current.user.role.as_str(),
            csrf: current.csrf_token.clone(),
            can_reply: current.user.role.can_reply(),
            nav,
            llm_missing: state.settings.llm_provider.is_none(),
            version: env!("CARGO_PKG_VERSION"),
        }
    }
}

/// The template as an HTML response with `status`.
pub fn render(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(err) => PageError::Internal(anyhow::anyhow!("template: {err}")).into_response(),
    }
}

/// Refuses people who may not configure the workspace (agents and viewers).
pub fn require_admin(current: &CurrentUser) -> Result<(), PageError> {
    if current.user.role.can_configure() {
        Ok(())
    } else {
        Err(PageError::Forbidden("Only admins and owners can change settings.".into()))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    #[error("too many attempts")]
    TooManyAttempts { retry_after_secs: u64 },
    #[error("{0}")]
    Gone(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<StoreError> for PageError {
    fn from(err: StoreError) -> Self {
        ApiError::from(err).into()
    }
}

impl From<ApiError> for PageError {
    fn from(err: ApiError) -> Self {
        match err {
            ApiError::NotFound(what) => PageError::NotFound(what),
            ApiError::Forbidden(msg) | ApiError::Unauthorized(msg) => PageError::Forbidden(msg.into()),
            ApiError::BadRequest(msg) => PageError::Invalid(msg),
            ApiError::PayloadTooLarge => PageError::Invalid("what was sent is larger than this server accepts".into()),
            ApiError::Validation(errors) => {
                PageError::Invalid(errors.iter().map(|e| e.message.clone()).collect::<Vec<_>>().join("; "))
            }
            ApiError::Conflict { message, .. } | ApiError::ConflictWith { message, .. } => PageError::Conflict(message),
            ApiError::RateLimited { retry_after_secs } => PageError::TooManyAttempts { retry_after_secs },
            ApiError::Internal(err) => PageError::Internal(err),
        }
    }
}

#[derive(Template)]
#[template(path = "notice.html")]
struct NoticePage {
    title: String,
    message: String,
    request_id: String,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, title, message) = match &self {
            PageError::NotFound(what) => (
                StatusCode::NOT_FOUND,
                "Not found",
                format!("There is no such {what} in this workspace. Go back to the conversations."),
            ),
            PageError::Forbidden(msg) => (StatusCode::FORBIDDEN, "Not allowed", msg.clone()),
            PageError::Invalid(msg) => (StatusCode::UNPROCESSABLE_ENTITY, "Please check the form", msg.clone()),
            PageError::Conflict(msg) => (StatusCode::CONFLICT, "Cannot do that now", msg.clone()),
            PageError::TooManyAttempts { retry_after_secs } => (
                StatusCode::TOO_MANY_REQUESTS,
                "Too many attempts",
                format!("Too many sign-in attempts for this e-mail. Wait {retry_after_secs} seconds and try again."),
            ),
            PageError::Gone(msg) => (StatusCode::GONE, "Link no longer valid", msg.clone()),
            PageError::Internal(err) => {
                tracing::error!(error = format!("{err:#}"), "dashboard error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "Something went wrong on our side. The request id below helps find it in the server's log.".into(),
                )
            }
        };
        let page = NoticePage { title: title.into(), message, request_id: crate::http::current_request_id() };
        match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => (status, page.message).into_response(),
        }
    }
}
