//! `/api/v1/price-table`: the workspace's prices — token prices per model and per-message
//! channel fees, in integer micro-USD — that every turn's cost is computed with. `GET` shows
//! the table in force (the built-in defaults until the workspace stores its own), `PUT`
//! replaces it whole, `DELETE` goes back to the defaults. Edits apply from the next turn.

use super::api_schemas::{self, ValidationErrorBody};
use super::json_body::ApiJson;
use super::{ApiError, ApiKeyAuth};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use confab_assistant::{ChannelFees, ModelPrice, PriceTable};
use confab_domain::WorkspaceId;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(read, replace, reset))
}

fn table_json(table: &PriceTable, customized: bool) -> Json<Value> {
    let mut body = serde_json::to_value(table).unwrap_or_default();
    body["customized"] = json!(customized);
    Json(body)
}

/// The table in force in `workspace_id` and whether it is the workspace's own (also the
/// dashboard's prices page).
pub(crate) async fn in_force(state: &AppState, workspace_id: WorkspaceId) -> Result<(PriceTable, bool), ApiError> {
    Ok(match confab_engine::workspace_prices::load(state.store.as_ref(), workspace_id).await? {
        Some(table) => (table, true),
        None => (PriceTable::default(), false),
    })
}

/// The table in force: the workspace's own, or the built-in defaults (`customized: false`).
#[utoipa::path(get, path = "/price-table", tag = "pricing",
    responses((status = 200, description = "The prices in force", body = api_schemas::PriceTable)))]
async fn read(State(state): State<AppState>, auth: ApiKeyAuth) -> Result<Json<Value>, ApiError> {
    let (table, customized) = in_force(&state, auth.workspace_id).await?;
    Ok(table_json(&table, customized))
}

/// The `PUT` body: the table as `GET` shows it. A part left out takes the defaults;
/// `customized` is ignored, so a `GET`'s answer can be edited and sent back.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct PriceTableBody {
    /// Model name (or name prefix, 1 to 100 characters) → prices.
    #[schema(value_type = Option<BTreeMap<String, api_schemas::ModelPrice>>)]
    models: Option<BTreeMap<String, ModelPrice>>,
    /// Fees per message in micro-USD.
    #[schema(value_type = Option<api_schemas::ChannelFees>)]
    channel_fees: Option<ChannelFees>,
    #[allow(dead_code)]
    customized: Option<bool>,
}

/// Replaces the workspace's table whole; edits apply from the next turn.
#[utoipa::path(put, path = "/price-table", tag = "pricing", request_body = PriceTableBody, responses(
    (status = 200, description = "The stored table", body = api_schemas::PriceTable),
    (status = 422, description = "Invalid fields", body = ValidationErrorBody),
))]
async fn replace(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    ApiJson(body): ApiJson<PriceTableBody>,
) -> Result<Json<Value>, ApiError> {
    let defaults = PriceTable::default();
    let table = PriceTable {
        models: body.models.unwrap_or(defaults.models),
        channel_fees: body.channel_fees.unwrap_or(defaults.channel_fees),
    };
    replace_in(&state, auth.workspace_id, &table).await?;
    Ok(table_json(&table, true))
}

/// Checks `table` and stores it as `workspace_id`'s own (also the dashboard's prices page).
pub(crate) async fn replace_in(
    state: &AppState,
    workspace_id: WorkspaceId,
    table: &PriceTable,
) -> Result<(), ApiError> {
    table.validate().map_err(ApiError::Validation)?;
    let stored = serde_json::to_value(table).map_err(|e| ApiError::Internal(e.into()))?;
    state.store.set_price_table(workspace_id, &stored).await?;
    Ok(())
}

/// Goes back to the built-in defaults.
#[utoipa::path(delete, path = "/price-table", tag = "pricing",
    responses((status = 204, description = "The defaults are in force again")))]
async fn reset(State(state): State<AppState>, auth: ApiKeyAuth) -> Result<StatusCode, ApiError> {
    state.store.delete_price_table(auth.workspace_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
