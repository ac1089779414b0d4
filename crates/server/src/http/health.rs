//! `/healthz` (the process answers) and `/readyz` (and its database does).

use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(healthz)).routes(routes!(readyz))
}

/// The process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "`ok`", content_type = "text/plain", body = String)))]
async fn healthz() -> &'static str {
    "ok"
}

/// The process answers and its database does.
#[utoipa::path(get, path = "/readyz", tag = "operations", responses(
    (status = 200, description = "Ready", body = crate::http::api_schemas::Readiness),
    (status = 503, description = "The database does not answer", body = crate::http::api_schemas::Readiness),
))]
async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let backend = state.store.backend();
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, Json(json!({ "status": "ready", "database": backend }))),
        Err(err) => {
            tracing::warn!(error = %err, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "unavailable", "database": backend })))
        }
    }
}
