//! `GET /api/v1/whoami`: which workspace the presented API key belongs to.

use super::{ApiError, ApiKeyAuth};
use crate::state::AppState;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

pub fn router() -> Router<AppState> {
    Router::new().route("/whoami", get(whoami))
}

async fn whoami(State(state): State<AppState>, auth: ApiKeyAuth) -> Result<Json<Value>, ApiError> {
    let workspace = state.store.get_workspace(auth.workspace_id).await?;
    Ok(Json(json!({
        "workspace": workspace,
        "api_key": { "id": auth.key.id, "name": auth.key.name, "prefix": auth.key.display_prefix },
    })))
}
