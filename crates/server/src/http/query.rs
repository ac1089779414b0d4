//! `ApiQuery<T>`: query parameters whose rejections are answered in the API's error format
//! (422 naming the parameter, e.g. `limit=abc` or a NUL character, see
//! [`super::storable_input`]) instead of axum's plain-text 400.

use super::ApiError;
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use confab_domain::ValidationError;
use serde::de::DeserializeOwned;

pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(parameter) = parts.uri.query().and_then(super::storable_input::query_parameter_with_nul) {
            return Err(ApiError::Validation(vec![ValidationError::new(
                super::json_body::leak_field(&parameter),
                format!("{parameter} must not contain the NUL character (%00)"),
            )]));
        }
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(Self(value)),
            Err(QueryRejection::FailedToDeserializeQueryString(err)) => {
                let text = err.body_text();
                let detail = text.strip_prefix("Failed to deserialize query string: ").unwrap_or(&text);
                let parameter = parameter_named(detail);
                let message = detail.strip_prefix(parameter).and_then(|d| d.strip_prefix(": ")).unwrap_or(detail);
                Err(ApiError::Validation(vec![ValidationError::new(
                    parameter,
                    format!("{parameter} is not valid: {message}"),
                )]))
            }
            Err(other) => Err(ApiError::BadRequest(other.body_text())),
        }
    }
}

/// Field names in validation errors are `&'static str`; serde names the parameter in its
/// text (``limit: invalid digit found in string``). The query parameters that are not plain
/// text are few; anything else is reported as `query`.
fn parameter_named(detail: &str) -> &'static str {
    const KNOWN: &[&str] = &["limit"];
    KNOWN.iter().find(|k| detail.starts_with(&format!("{k}:"))).copied().unwrap_or("query")
}
