//! Bearer API key authentication: the extractor every `/api/v1` handler takes. A key is looked
//! up by its SHA-256 hash; the request is scoped to the key's workspace.

use super::ApiError;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts};
use confab_domain::{api_key::hash_api_key, ApiKey, WorkspaceId};

/// The authenticated caller.
#[derive(Clone, Debug)]
pub struct ApiKeyAuth {
    pub workspace_id: WorkspaceId,
    pub key: ApiKey,
}

impl FromRequestParts<AppState> for ApiKeyAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        // already authenticated by the rate limit layer
        if let Some(auth) = parts.extensions.get::<ApiKeyAuth>() {
            return Ok(auth.clone());
        }
        let header = parts.headers.get(header::AUTHORIZATION).ok_or(ApiError::Unauthorized(
            "send an API key as `Authorization: Bearer <key>` (make one with `confab apikey create`)",
        ))?;
        let presented = header
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .ok_or(ApiError::Unauthorized("the Authorization header must be `Bearer <key>`"))?;
        let key = state
            .store
            .api_key_by_hash(&hash_api_key(presented))
            .await?
            .ok_or(ApiError::Unauthorized("this API key is not valid or was revoked"))?;
        Ok(Self { workspace_id: key.workspace_id, key })
    }
}
