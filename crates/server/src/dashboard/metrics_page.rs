//! The metrics page (`/analytics`): what `GET /api/v1/metrics` computes (same query parsing,
//! same store aggregate) for a chosen range, type and assistant, with per-day charts.

use super::chart;
use super::conversations_page::Choice;
use super::display;
use super::page::{render, Layout, PageError};
use super::session::CurrentUser;
use crate::http::metrics::MetricsQuery;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use confab_domain::MicroUsd;
use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

#[derive(Deserialize, Default)]
pub struct MetricsParams {
    range: Option<String>,
    from: Option<String>,
    to: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    assistant_id: Option<String>,
}

pub struct Card {
    pub label: &'static str,
    pub value: String,
    pub hint: &'static str,
}

pub struct Chart {
    pub title: &'static str,
    pub svg: String,
}

#[derive(Template)]
#[template(path = "metrics.html")]
struct MetricsPage {
    layout: Layout,
    ranges: Vec<Choice>,
    types: Vec<Choice>,
    assistants: Vec<Choice>,
    custom_range: bool,
    from: String,
    to: String,
    period: String,
    cards: Vec<Card>,
    charts: Vec<Chart>,
    error: Option<String>,
}

fn blank(v: &Option<String>) -> Option<String> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

fn choose(options: Vec<(String, String)>, current: &str) -> Vec<Choice> {
    options.into_iter().map(|(value, label)| Choice { selected: value == current, value, label }).collect()
}

pub async fn show(
    State(state): State<AppState>,
    Extension(current): Extension<CurrentUser>,
    Query(params): Query<MetricsParams>,
) -> Result<Response, PageError> {
    let ws = current.user.workspace_id;
    let now = OffsetDateTime::now_utc();
    let range = blank(&params.range).unwrap_or_else(|| "30".into());
    let (from, to) = match range.as_str() {
        "custom" => (blank(&params.from), blank(&params.to)),
        days => {
            let days: i64 = days.parse().unwrap_or(30);
            ((now - Duration::days(days)).format(&Rfc3339).ok(), None)
        }
    };
    let query = MetricsQuery { from, to, kind: blank(&params.kind), assistant_id: blank(&params.assistant_id) };
    let assistants = state.store.list_assistants(ws).await?;
    let (cards, charts, period, error) = match query.filter(now) {
        Ok(filter) => {
            let m = state.store.metrics(ws, &filter).await?;
            let period = format!("{} to {} (UTC)", display::datetime(filter.from), display::datetime(filter.to));
            let ms = |v: Option<f64>| v.map_or_else(|| "—".into(), |v| format!("{v:.0} ms"));
            let cards = vec![
                Card { label: "Conversations", value: m.conversations.to_string(), hint: "started in the range" },
                Card { label: "Messages", value: m.messages.to_string(), hint: "all roles" },
                Card {
                    label: "Messages per conversation",
                    value: m.messages_per_conversation.map_or_else(|| "—".into(), |v| format!("{v:.1}")),
                    hint: "",
                },
                Card {
                    label: "Response rate",
                    value: m.response_rate.map_or_else(|| "—".into(), |v| format!("{:.0}%", v * 100.0)),
                    hint: "customer messages that got an AI reply",
                },
                Card { label: "Average response time", value: ms(m.avg_response_time_ms), hint: "" },
                Card {
                    label: "p90 response time",
                    value: m.p90_response_time_ms.map_or_else(|| "—".into(), |v| format!("{v} ms")),
                    hint: "",
                },
                Card { label: "Total cost", value: display::money(MicroUsd(m.total_cost_micros)), hint: "" },
                Card {
                    label: "Cost per conversation",
                    value: m.cost_per_conversation_micros.map_or_else(|| "—".into(), |v| display::money(MicroUsd(v))),
                    hint: "",
                },
                Card { label: "AI latency", value: ms(m.avg_llm_latency_ms), hint: "average LLM call" },
                Card { label: "Timeouts", value: m.timeouts.to_string(), hint: "" },
                Card { label: "LLM failures", value: m.llm_failures.to_string(), hint: "" },
                Card { label: "Failed deliveries", value: m.failed_deliveries.to_string(), hint: "" },
            ];
            let series = |pick: fn(&confab_storage::DailyMetrics) -> f64| -> Vec<(String, f64)> {
                m.daily.iter().map(|d| (d.date.to_string(), pick(d))).collect()
            };
            let count = |v: f64| format!("{v:.0}");
            let charts = vec![
                Chart { title: "Conversations per day", svg: chart::bars(&series(|d| d.conversations as f64), count) },
                Chart { title: "Messages per day", svg: chart::bars(&series(|d| d.messages as f64), count) },
                Chart {
                    title: "Cost per day",
                    svg: chart::bars(&series(|d| d.cost_micros as f64), |v| display::money(MicroUsd(v as i64))),
                },
            ];
            (cards, charts, period, None)
        }
        Err(err) => {
            let message = match PageError::from(err) {
                PageError::Invalid(message) => message,
                other => return Err(other),
            };
            (Vec::new(), Vec::new(), String::new(), Some(message))
        }
    };
    let assistant_options = std::iter::once((String::new(), "Any assistant".to_string()))
        .chain(assistants.iter().map(|a| (a.id.to_string(), a.name.clone())))
        .collect();
    let type_options =
        [("", "Any type"), ("whatsapp", "WhatsApp"), ("widget", "Web Widget"), ("test", "Test"), ("api", "API")]
            .iter()
            .map(|(v, l)| ((*v).to_string(), (*l).to_string()))
            .collect();
    let range_options =
        [("7", "Last 7 days"), ("30", "Last 30 days"), ("90", "Last 90 days"), ("custom", "Custom dates")]
            .iter()
            .map(|(v, l)| ((*v).to_string(), (*l).to_string()))
            .collect();
    let page = MetricsPage {
        layout: Layout::new(&state, &current, "analytics", "Metrics"),
        ranges: choose(range_options, &range),
        types: choose(type_options, blank(&params.kind).as_deref().unwrap_or("")),
        assistants: choose(assistant_options, blank(&params.assistant_id).as_deref().unwrap_or("")),
        custom_range: range == "custom",
        from: blank(&params.from).unwrap_or_default(),
        to: blank(&params.to).unwrap_or_default(),
        period,
        cards,
        charts,
        error,
    };
    Ok(render(StatusCode::OK, &page))
}
