//! Settings → Prices (`/settings/prices`): the price table every turn's cost is computed with
//! — the workspace's own, or the built-in defaults — as an editable form: a row per model
//! (clear a row's name to drop it; blank rows add one) and one field per channel fee, all in
//! micro-USD. Saved through the API's own check and store call (`http::price_table`); a
//! number that does not parse is shown next to its field; "Reset to defaults" drops the
//! workspace's table. Everyone may read; admins and owners change.

use super::display;
use super::form_errors::FormErrors;
use super::form_pairs::FormPairs;
use super::page::{render, require_admin, Layout, PageError};
use super::session::CurrentUser;
use crate::http::price_table::{in_force, replace_in};
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use confab_assistant::{ChannelFees, ModelPrice, PriceTable};
use confab_domain::MicroUsd;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Empty rows offered for adding models.
const BLANK_MODEL_ROWS: usize = 3;

pub struct ModelRow {
    pub name: String,
    pub input: String,
    pub cached: String,
    pub output: String,
    pub error: Option<String>,
}

pub struct FeeRow {
    /// The fee's name in the table (`whatsapp_inbound`), also the form field's after `fee_`.
    pub key: String,
    pub value: String,
    /// The value in dollars, when it parses.
    pub dollars: String,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "prices.html")]
struct PricesPage {
    layout: Layout,
    can_configure: bool,
    customized: bool,
    models: Vec<ModelRow>,
    fees: Vec<FeeRow>,
    errors: FormErrors,
    saved: bool,
}

/// Each channel fee by its name in the table, as the table serializes them.
fn fee_values(fees: &ChannelFees) -> Map<String, Value> {
    match serde_json::to_value(fees) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

fn rows_of(table: &PriceTable) -> (Vec<ModelRow>, Vec<FeeRow>) {
    let models = table
        .models
        .iter()
        .map(|(name, p)| ModelRow {
            name: name.clone(),
            input: p.input_per_million.0.to_string(),
            cached: p.cached_input_per_million.0.to_string(),
            output: p.output_per_million.0.to_string(),
            error: None,
        })
        .collect();
    let fees = fee_values(&table.channel_fees)
        .into_iter()
        .map(|(key, value)| {
            let micro = value.as_i64().unwrap_or_default();
            FeeRow { key, value: micro.to_string(), dollars: display::money(MicroUsd(micro)), error: None }
        })
        .collect();
    (models, fees)
}

fn page(
    state: &AppState,
    current: &CurrentUser,
    customized: bool,
    rows: (Vec<ModelRow>, Vec<FeeRow>),
    errors: FormErrors,
    saved: bool,
) -> PricesPage {
    let (mut models, fees) = rows;
    models.extend((0..BLANK_MODEL_ROWS).map(|_| ModelRow {
        name: String::new(),
        input: String::new(),
        cached: String::new(),
        output: String::new(),
        error: None,
    }));
    PricesPage {
        layout: Layout::new(state, current, "settings", "Prices"),
        can_configure: current.user.role.can_configure(),
        customized,
        models,
        fees,
        errors,
        saved,
    }
}

pub async fn show(
    State(state): State<AppState>,
    Extension(current): Extension<CurrentUser>,
) -> Result<Response, PageError> {
    let (table, customized) = in_force(&state, current.user.workspace_id).await?;
    Ok(render(StatusCode::OK, &page(&state, &current, customized, rows_of(&table), FormErrors::default(), false)))
}

/// A whole number of micro-USD, not negative.
fn micro_usd(text: &str) -> Result<MicroUsd, &'static str> {
    match text.trim().parse::<i64>() {
        Ok(n) if n >= 0 => Ok(MicroUsd(n)),
        Ok(_) => Err("must not be negative"),
        Err(_) => Err("must be a whole number of micro-USD (1 dollar = 1000000)"),
    }
}

/// The table the form means, or the rows as typed with each problem on its row.
fn table_of(form: &FormPairs) -> Result<PriceTable, (Vec<ModelRow>, Vec<FeeRow>)> {
    let (names, inputs, cached, outputs) =
        (form.all("model_name"), form.all("model_input"), form.all("model_cached"), form.all("model_output"));
    let mut failed = false;
    let mut models = BTreeMap::new();
    let mut model_rows = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let cell = |column: &[String]| column.get(i).cloned().unwrap_or_default();
        let mut row = ModelRow {
            name: name.trim().to_string(),
            input: cell(&inputs),
            cached: cell(&cached),
            output: cell(&outputs),
            error: None,
        };
        if row.name.is_empty() {
            // a cleared or blank row: dropped, unless it has prices (then it needs a name)
            if [&row.input, &row.cached, &row.output].iter().any(|v| !v.trim().is_empty()) {
                row.error = Some("give the model a name, or clear its prices".into());
                failed = true;
                model_rows.push(row);
            }
            continue;
        }
        let prices = (micro_usd(&row.input), micro_usd(&row.cached), micro_usd(&row.output));
        match prices {
            (Ok(input), Ok(cached), Ok(output)) => {
                if models.insert(row.name.clone(), ModelPrice::new(input.0, cached.0, output.0)).is_some() {
                    row.error = Some(format!("`{}` is listed twice", row.name));
                    failed = true;
                }
            }
            (input, cached, output) => {
                let problems: Vec<String> = [("input", input), ("cached input", cached), ("output", output)]
                    .into_iter()
                    .filter_map(|(what, price)| price.err().map(|e| format!("{what} {e}")))
                    .collect();
                row.error = Some(problems.join("; "));
                failed = true;
            }
        }
        model_rows.push(row);
    }
    let mut fees = Map::new();
    let mut fee_rows = Vec::new();
    for key in fee_values(&ChannelFees::default()).keys() {
        let value = form.one(&format!("fee_{key}"));
        let mut row = FeeRow { key: key.clone(), dollars: String::new(), error: None, value };
        match micro_usd(&row.value) {
            Ok(micro) => {
                row.dollars = display::money(micro);
                fees.insert(key.clone(), Value::from(micro.0));
            }
            Err(e) => {
                row.error = Some(e.to_string());
                failed = true;
            }
        }
        fee_rows.push(row);
    }
    let channel_fees = serde_json::from_value::<ChannelFees>(Value::Object(fees));
    match channel_fees {
        Ok(channel_fees) if !failed => Ok(PriceTable { models, channel_fees }),
        _ => Err((model_rows, fee_rows)),
    }
}

/// `POST /settings/prices`: replaces the workspace's table with the form's.
pub async fn save(
    State(state): State<AppState>,
    Extension(current): Extension<CurrentUser>,
    form: FormPairs,
) -> Result<Response, PageError> {
    require_admin(&current)?;
    let ws = current.user.workspace_id;
    let (_, customized) = in_force(&state, ws).await?;
    let table = match table_of(&form) {
        Ok(table) => table,
        Err(rows) => {
            let mut errors = FormErrors::default();
            errors.push("form", "Some prices are not valid: see the marked rows. Nothing was saved.");
            return Ok(render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &page(&state, &current, customized, rows, errors, false),
            ));
        }
    };
    if let Err(err) = replace_in(&state, ws, &table).await {
        let errors = FormErrors::from_api(err)?;
        let rows = rows_of(&table);
        return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page(&state, &current, customized, rows, errors, false)));
    }
    tracing::info!(user_id = %current.user.id, models = table.models.len(), "price table saved from the dashboard");
    Ok(render(StatusCode::OK, &page(&state, &current, true, rows_of(&table), FormErrors::default(), true)))
}

/// `POST /settings/prices/reset`: back to the built-in defaults.
pub async fn reset(
    State(state): State<AppState>,
    Extension(current): Extension<CurrentUser>,
) -> Result<Response, PageError> {
    require_admin(&current)?;
    state.store.delete_price_table(current.user.workspace_id).await?;
    tracing::info!(user_id = %current.user.id, "price table reset to the defaults from the dashboard");
    Ok(Redirect::to("/settings/prices").into_response())
}
