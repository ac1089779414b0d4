//! `GET /api/v1/whoami`: which workspace the presented API key belongs to.

use super::{ApiError, ApiKeyAuth};
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(whoami))
}

/// The workspace and key of the presented API key.
#[utoipa::path(get, path = "/whoami", tag = "workspace",
    responses((status = 200, description = "The key's workspace", body = super::api_schemas::WhoAmI)))]

async fn whoami(State(state): State<AppState>, auth: ApiKeyAuth) -> Result<Json<Value>, ApiError> {
    let workspace = state.store.get_workspace(auth.workspace_id).await?;
    Ok(Json(json!({
        "workspace": workspace,
        "api_key": { "id": auth.key.id, "name": auth.key.name, "prefix": auth.key.display_prefix },
    })))
}
