//! `/api/v1/price-table`: the workspace's prices — token prices per model and per-message
//! channel fees, in integer micro-USD — that every turn's cost is computed with. `GET` shows
//! the table in force (the built-in defaults until the workspace stores its own), `PUT`
//! replaces it whole, `DELETE` goes back to the defaults. Edits apply from the next turn.

use super::json_body::ApiJson;
use super::{ApiError, ApiKeyAuth};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use confab_assistant::{ChannelFees, ModelPrice, PriceTable};
use confab_domain::WorkspaceId;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

pub fn router() -> Router<AppState> {
    Router::new().route("/price-table", get(read).put(replace).delete(reset))
}

fn table_json(table: &PriceTable, customized: bool) -> Json<Value> {
    let mut body = serde_json::to_value(table).unwrap_or_default();
    body["customized"] = json!(customized);
    Json(body)
}

async fn in_force(state: &AppState, workspace_id: WorkspaceId) -> Result<(PriceTable, bool), ApiError> {
    Ok(match confab_engine::workspace_prices::load(state.store.as_ref(), workspace_id).await? {
        Some(table) => (table, true),
        None => (PriceTable::default(), false),
    })
}

async fn read(State(state): State<AppState>, auth: ApiKeyAuth) -> Result<Json<Value>, ApiError> {
    let (table, customized) = in_force(&state, auth.workspace_id).await?;
    Ok(table_json(&table, customized))
}

/// The `PUT` body: the table as `GET` shows it. A part left out takes the defaults;
/// `customized` is ignored, so a `GET`'s answer can be edited and sent back.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PriceTableBody {
    models: Option<BTreeMap<String, ModelPrice>>,
    channel_fees: Option<ChannelFees>,
    #[allow(dead_code)]
    customized: Option<bool>,
}

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
    table.validate().map_err(ApiError::Validation)?;
    let stored = serde_json::to_value(&table).map_err(|e| ApiError::Internal(e.into()))?;
    state.store.set_price_table(auth.workspace_id, &stored).await?;
    Ok(table_json(&table, true))
}

async fn reset(State(state): State<AppState>, auth: ApiKeyAuth) -> Result<StatusCode, ApiError> {
    state.store.delete_price_table(auth.workspace_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
