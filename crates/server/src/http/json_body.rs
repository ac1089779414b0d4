//! `ApiJson<T>`: a JSON request body whose rejections are answered in the API's error format
//! (413 for a body over `max_body_bytes`, 400 for a body that is not JSON, 422 for JSON of the wrong shape or with values the
//! database cannot keep, see [`super::storable_input`]) instead of axum's text.

use super::ApiError;
use axum::body::{Body, Bytes};
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::Json;
use confab_domain::ValidationError;
use serde::de::DeserializeOwned;

pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let bytes =
            Bytes::from_request(Request::from_parts(parts.clone(), body), state).await.map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge
                } else {
                    ApiError::BadRequest(rejection.body_text())
                }
            })?;
        if let Some(bad) = super::storable_input::json_unstorable(&bytes) {
            let message = format!("{} {}", bad.field, bad.problem);
            return Err(ApiError::Validation(vec![ValidationError::new(leak_field(&bad.field), message)]));
        }
        let req = Request::from_parts(parts, Body::from(bytes));
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(Self(value)),
            Err(JsonRejection::JsonDataError(err)) => {
                let text = err.body_text();
                let detail =
                    text.strip_prefix("Failed to deserialize the JSON body into the target type: ").unwrap_or(&text);
                // a wrong value is `response_delay_ms: invalid type: …`, its path first; a
                // missing or unknown field is named in backticks
                let by_path = detail
                    .split_once(": ")
                    .map(|(path, rest)| (leak_field(path.split(['[', '.']).next().unwrap_or(path)), rest))
                    .filter(|(field, _)| *field != "body");
                if let Some((field, rest)) = by_path {
                    let message = format!("{field} is not valid: {rest}");
                    return Err(ApiError::Validation(vec![ValidationError::new(field, message)]));
                }
                let field = detail.split('`').nth(1).filter(|_| detail.contains("field")).unwrap_or("body");
                Err(ApiError::Validation(vec![ValidationError::new(leak_field(field), detail.to_string())]))
            }
            Err(JsonRejection::JsonSyntaxError(err)) => {
                Err(ApiError::BadRequest(format!("the body is not valid JSON: {}", err.body_text())))
            }
            Err(JsonRejection::MissingJsonContentType(_)) => {
                Err(ApiError::BadRequest("send the body as JSON with `Content-Type: application/json`".into()))
            }
            Err(other) => Err(ApiError::BadRequest(other.body_text())),
        }
    }
}

/// Field names in validation errors are `&'static str`; serde reports the field as text. The
/// names come from our own request types, so the set is small and fixed; anything else is
/// reported as `body`.
pub(super) fn leak_field(field: &str) -> &'static str {
    const KNOWN: &[&str] = &[
        "name",
        "system_prompt",
        "first_message",
        "fallback_message",
        "response_delay_ms",
        "inactivity_timeout_minutes",
        "timezone",
        "provider",
        "model",
        "temperature",
        "tools",
        "knowledge_base_ids",
        "extraction_schema",
        "phone_number_id",
        "display_phone_number",
        "access_token",
        "assistant_id",
        "ai_enabled",
        "sender_id",
        "to",
        "text",
        "template",
        "language",
        "parameters",
        "components",
        "status",
        "message",
        "customer_identifier",
        "variables",
        "enabled",
        "type",
        "knowledge_mode",
        "after_end",
        "title",
        "content",
        "description",
        "method",
        "url",
        "headers",
        "timeout_secs",
        // query parameters
        "customer",
        "external_identifier",
        "sender_phone",
        "cursor",
        "from",
        "kind",
        "format",
        "level",
        "recipient",
        "limit",
    ];
    KNOWN.iter().find(|k| **k == field).copied().unwrap_or("body")
}
