//! The one error type of every API handler: JSON `{error, message, request_id}` with the right
//! status. Internal errors are logged with their cause and answered without it.

use super::current_request_id;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use confab_domain::ValidationError;
use confab_storage::StoreError;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    BadRequest(String),
    /// The body is larger than `max_body_bytes`.
    #[error("the body is too large")]
    PayloadTooLarge,
    #[error("validation failed")]
    Validation(Vec<ValidationError>),
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// A conflict whose body carries more than the message (e.g. the session status).
    #[error("{message}")]
    ConflictWith { code: &'static str, message: String, details: serde_json::Value },
    #[error("too many requests")]
    RateLimited { retry_after_secs: u64 },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound(what) => ApiError::NotFound(what),
            StoreError::Conflict { constraint } => ApiError::Conflict {
                code: "conflict",
                message: format!("this would duplicate an existing record ({constraint})"),
            },
            other => ApiError::Internal(other.into()),
        }
    }
}

impl From<ValidationError> for ApiError {
    fn from(err: ValidationError) -> Self {
        ApiError::Validation(vec![err])
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let request_id = current_request_id();
        let (status, code, message, extra) = match &self {
            ApiError::Unauthorized(msg) => (StatusCode::UNAUTHORIZED, "unauthorized", msg.to_string(), None),
            ApiError::Forbidden(msg) => (StatusCode::FORBIDDEN, "forbidden", msg.to_string(), None),
            ApiError::NotFound(what) => (StatusCode::NOT_FOUND, "not_found", format!("{what} not found"), None),
            ApiError::BadRequest(msg) => (StatusCode::BAD_REQUEST, "bad_request", msg.clone(), None),
            ApiError::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the body is larger than this server accepts (max_body_bytes / CONFAB_MAX_BODY_BYTES)".into(),
                None,
            ),
            ApiError::Validation(errors) => {
                let fields: serde_json::Map<_, _> =
                    errors.iter().map(|e| (e.field.to_string(), json!(e.message))).collect();
                let message = errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
                (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", message, Some(("fields", json!(fields))))
            }
            ApiError::Conflict { code, message } => (StatusCode::CONFLICT, *code, message.clone(), None),
            ApiError::ConflictWith { code, message, details } => {
                (StatusCode::CONFLICT, *code, message.clone(), Some(("details", details.clone())))
            }
            ApiError::RateLimited { retry_after_secs } => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("too many requests; retry after {retry_after_secs} s"),
                None,
            ),
            ApiError::Internal(err) => {
                tracing::error!(error = format!("{err:#}"), "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "something went wrong on our side; the request id helps us find it".into(),
                    None,
                )
            }
        };
        let mut body = json!({ "error": code, "message": message, "request_id": request_id });
        if let Some((key, value)) = extra {
            body[key] = value;
        }
        let mut response = (status, Json(body)).into_response();
        if let ApiError::RateLimited { retry_after_secs } = self {
            if let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}

/// Fallback for unknown `/api/v1` paths.
pub async fn api_not_found() -> ApiError {
    ApiError::NotFound("route")
}
