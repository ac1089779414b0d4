//! `GET /api/v1/webhook-events?kind=event|unrouted|dead_letter&limit=`: the webhook payloads
//! confab kept without acting on them, newest first — so nothing that arrived is invisible.

use super::api_schemas::{self, ValidationErrorBody};
use super::query::ApiQuery;
use super::{ApiError, ApiKeyAuth};
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use confab_domain::ValidationError;
use confab_storage::WebhookEventKind;
use serde::Deserialize;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// All kinds by default.
    #[param(value_type = Option<api_schemas::WebhookEventKind>)]
    kind: Option<String>,
    /// How many, newest first: 1 to 500 (default 50; out-of-range values are clamped).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

/// The webhook payloads confab kept without acting on them, newest first.
#[utoipa::path(get, path = "/webhook-events", tag = "workspace", params(ListQuery), responses(
    (status = 200, description = "The events", body = api_schemas::WebhookEventList),
    (status = 422, description = "Invalid parameters", body = ValidationErrorBody),
))]
async fn list(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let kind = query
        .kind
        .as_deref()
        .map(|k| {
            WebhookEventKind::parse(k)
                .ok_or_else(|| ValidationError::new("kind", "kind must be event, unrouted or dead_letter"))
        })
        .transpose()?;
    let limit = query.limit.unwrap_or(50).clamp(1, 500);
    let events = state.store.list_webhook_events(Some(auth.workspace_id), kind, limit).await?;
    let items: Vec<Value> = events
        .into_iter()
        .map(|e| {
            let body = match serde_json::from_slice::<Value>(&e.body) {
                Ok(json) => json!({ "json": json }),
                Err(_) => json!({ "text": String::from_utf8_lossy(&e.body) }),
            };
            json!({
                "id": e.id,
                "provider": e.provider.as_str(),
                "kind": e.kind.as_str(),
                "field": e.field,
                "phone_number_id": e.phone_number_id,
                "reason": e.reason,
                "body": body,
                "received_at": e.received_at.format(&Rfc3339).unwrap_or_default(),
            })
        })
        .collect();
    Ok(Json(json!({ "items": items })))
}
