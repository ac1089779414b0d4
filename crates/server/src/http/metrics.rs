//! `GET /api/v1/metrics?from=&to=&type=&assistant_id=` (DESIGN §8): the workspace's
//! conversation metrics over a range, read by the store from its per-day rollup. The metric
//! definitions are in `confab_storage::metrics`.
//!
//! `from` and `to` take a date (`2026-11-25`, its start in UTC) or an RFC 3339 time, as the
//! conversation list does; the range is `[from, to)`, and the store counts the whole UTC days
//! it touches. Without them it is the last 30 days up to now. The answer echoes the range it
//! was given.

use super::api_schemas::{self, ValidationErrorBody};
use super::conversations::{parse_id, parse_time};
use super::field_errors::FieldErrors;
use super::query::ApiQuery;
use super::{ApiError, ApiKeyAuth};
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use confab_domain::{AssistantId, ConversationType, ValidationError};
use confab_storage::{Metrics, MetricsFilter};
use serde::Deserialize;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The range when the caller gives no `from`.
const DEFAULT_RANGE: Duration = Duration::days(30);

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(metrics))
}

#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct MetricsQuery {
    /// Start of the range (inclusive): a date (`2026-11-25`) or an RFC 3339 time; default
    /// 30 days before `to`.
    pub from: Option<String>,
    /// End of the range (exclusive); default now.
    pub to: Option<String>,
    #[serde(rename = "type")]
    #[param(value_type = Option<api_schemas::ConversationType>)]
    pub kind: Option<String>,
    #[param(value_type = Option<uuid::Uuid>)]
    pub assistant_id: Option<String>,
}

impl MetricsQuery {
    /// The store filter, or 422 naming each bad parameter.
    pub(crate) fn filter(&self, now: OffsetDateTime) -> Result<MetricsFilter, ApiError> {
        let mut errors = FieldErrors::default();
        let kind = self.kind.as_deref().and_then(|t| errors.check(ConversationType::parse(t)));
        let assistant_id =
            self.assistant_id.as_deref().and_then(|id| errors.check(parse_id::<AssistantId>("assistant_id", id)));
        let from = self.from.as_deref().and_then(|t| errors.check(parse_time("from", t)));
        let to = self.to.as_deref().and_then(|t| errors.check(parse_time("to", t)));
        errors.finish()?;
        let to = to.unwrap_or(now);
        let from = from.unwrap_or(to - DEFAULT_RANGE);
        if from >= to {
            return Err(ValidationError::new("from", "from must be before to").into());
        }
        Ok(MetricsFilter { from, to, kind, assistant_id })
    }
}

/// The workspace's conversation metrics over a range.
#[utoipa::path(get, path = "/metrics", tag = "metrics", params(MetricsQuery), responses(
    (status = 200, description = "The metrics and the range used", body = api_schemas::Metrics),
    (status = 422, description = "Invalid parameters", body = ValidationErrorBody),
))]
async fn metrics(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    ApiQuery(query): ApiQuery<MetricsQuery>,
) -> Result<Json<Value>, ApiError> {
    let filter = query.filter(OffsetDateTime::now_utc())?;
    let metrics = state.store.metrics(auth.workspace_id, &filter).await?;
    Ok(Json(metrics_json(&filter, &metrics)))
}

fn metrics_json(filter: &MetricsFilter, m: &Metrics) -> Value {
    let daily: Vec<Value> = m
        .daily
        .iter()
        .map(|d| {
            json!({
                "date": d.date.to_string(),
                "conversations": d.conversations,
                "messages": d.messages,
                "cost_micros": d.cost_micros,
            })
        })
        .collect();
    json!({
        "from": filter.from.format(&Rfc3339).ok(),
        "to": filter.to.format(&Rfc3339).ok(),
        "type": filter.kind.map(|k| k.as_str()),
        "assistant_id": filter.assistant_id,
        "total_conversations": m.conversations,
        "active_conversations": m.active_conversations,
        "total_messages": m.messages,
        "customer_messages": m.customer_messages,
        "answered_customer_messages": m.answered_customer_messages,
        "messages_per_conversation": m.messages_per_conversation,
        "response_rate": m.response_rate,
        "response_time_ms": {
            "count": m.responses_timed,
            "average": m.avg_response_time_ms,
            "p90": m.p90_response_time_ms,
        },
        "total_cost_micros": m.total_cost_micros,
        "cost_per_conversation_micros": m.cost_per_conversation_micros,
        "avg_llm_latency_ms": m.avg_llm_latency_ms,
        "llm_failures": m.llm_failures,
        "timeouts": m.timeouts,
        "failed_deliveries": m.failed_deliveries,
        "daily": daily,
    })
}
