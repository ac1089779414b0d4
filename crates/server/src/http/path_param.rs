//! `ApiPath<T>`: path parameters whose rejections (e.g. `%FF`, which is not UTF-8) are answered
//! in the API's error format, a JSON 400, instead of axum's plain text.

use super::ApiError;
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(Self(value)),
            Err(rejection) => {
                Err(ApiError::BadRequest(format!("the URL path cannot be read: {}", rejection.body_text())))
            }
        }
    }
}

/// An id taken from the path. One that does not even parse names nothing in this workspace,
/// so it is answered like an unknown one: 404 naming `what`.
pub(crate) fn resource_id<T: std::str::FromStr>(raw: &str, what: &'static str) -> Result<T, ApiError> {
    raw.parse().map_err(|_| ApiError::NotFound(what))
}
