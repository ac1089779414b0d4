//! The conversation list (`/` and `/conversations`): a row per conversation with its type
//! badge, customer, last message, counts, cost, assistant, times, window and failed-delivery
//! marker; the filter form; cursor pagination; the export buttons
//! (`/conversations/export`, the API's streamed export under the session instead of a key);
//! and an empty state that says what to do next.

use super::display;
use super::list_params::ListParams;
use super::page::{render, Layout, PageError};
use super::session::CurrentUser;
use crate::http::conversations::customers_of;
use crate::http::export::export_response;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use confab_domain::Conversation;
use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use time::OffsetDateTime;

/// Conversations per page.
pub const PAGE_SIZE: u32 = 50;
/// Characters of the last message shown.
const PREVIEW_CHARS: usize = 90;

pub struct Row {
    pub id: String,
    pub badge_class: &'static str,
    pub badge_label: &'static str,
    pub customer: String,
    pub preview: String,
    pub message_count: i64,
    pub cost: String,
    pub assistant: String,
    pub started: String,
    pub last_activity: String,
    pub window: String,
    pub window_open: bool,
    pub failed: bool,
    pub ended: bool,
    pub ai_enabled: bool,
}

/// One option of a select, with whether it is chosen.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

fn choices(options: &[(&str, &str)], current: &str) -> Vec<Choice> {
    options
        .iter()
        .map(|(value, label)| Choice { value: (*value).into(), label: (*label).into(), selected: *value == current })
        .collect()
}

#[derive(Template)]
#[template(path = "conversations.html")]
struct ConversationsPage {
    layout: Layout,
    rows: Vec<Row>,
    types: Vec<Choice>,
    assistants: Vec<Choice>,
    senders: Vec<Choice>,
    statuses: Vec<Choice>,
    ranges: Vec<Choice>,
    custom_range: bool,
    from: String,
    to: String,
    customer: String,
    failed: bool,
    filtered: bool,
    paged: bool,
    next_link: Option<String>,
    first_link: String,
    export_query: String,
    /// The filters and cursor, for the live-update stream of this very page.
    live_query: String,
    error: Option<String>,
    has_assistants: bool,
    has_senders: bool,
}

pub async fn show(
    State(state): State<AppState>,
    Extension(current): Extension<CurrentUser>,
    Query(params): Query<ListParams>,
) -> Result<Response, PageError> {
    let ws = current.user.workspace_id;
    let now = OffsetDateTime::now_utc();
    let assistants = state.store.list_assistants(ws).await?;
    let senders = state.store.list_senders(ws).await?;
    let query = params.list_query(now);
    // a bad filter (a hand-edited link) shows as a message above an empty list
    let (conversations, next, error) = match list(&state, ws, &query).await {
        Ok((items, next)) => (items, next, None),
        Err(PageError::Invalid(message)) => (Vec::new(), None, Some(message)),
        Err(other) => return Err(other),
    };
    let customers = customers_of(&state, ws, &conversations).await?;
    let ids: Vec<_> = conversations.iter().map(|c| c.id).collect();
    let failed: HashSet<_> = state.store.conversations_with_failed_deliveries(ws, &ids).await?.into_iter().collect();
    let previews: HashMap<_, _> =
        state.store.last_message_previews(ws, &ids, PREVIEW_CHARS as u32 + 1).await?.into_iter().collect();
    let assistant_names: HashMap<_, _> = assistants.iter().map(|a| (a.id, a.name.clone())).collect();
    let mut rows = Vec::with_capacity(conversations.len());
    for c in &conversations {
        let preview = previews.get(&c.id).map(|text| shortened(text)).unwrap_or_default();
        let (badge_class, badge_label) = display::badge(c.kind);
        let (window_open, window) = display::window(c, now).unwrap_or((false, String::new()));
        rows.push(Row {
            id: c.id.to_string(),
            badge_class,
            badge_label,
            customer: display::customer(customers.get(&c.customer_id)),
            preview,
            message_count: c.message_count,
            cost: display::money(c.total_cost),
            assistant: assistant_names.get(&c.assistant_id).cloned().unwrap_or_else(|| "deleted assistant".into()),
            started: display::datetime(c.created_at),
            last_activity: display::datetime(c.last_message_at),
            window,
            window_open,
            failed: failed.contains(&c.id),
            ended: c.status == confab_domain::ConversationStatus::Ended,
            ai_enabled: c.ai_enabled,
        });
    }
    let filters = params.query_string();
    let with = |extra: &str| {
        if filters.is_empty() {
            format!("/conversations?{extra}")
        } else {
            format!("/conversations?{filters}&{extra}")
        }
    };
    let assistant_options: Vec<(String, String)> =
        assistants.iter().map(|a| (a.id.to_string(), a.name.clone())).collect();
    let sender_options: Vec<(String, String)> =
        senders.iter().map(|s| (s.id.to_string(), s.display_phone.as_str().to_string())).collect();
    let page = ConversationsPage {
        layout: Layout::new(&state, &current, "conversations", "Conversations"),
        rows,
        types: choices(
            &[("", "Any type"), ("whatsapp", "WhatsApp"), ("widget", "Web Widget"), ("test", "Test"), ("api", "API")],
            &params.field("type"),
        ),
        assistants: select_with_any("Any assistant", &assistant_options, &params.field("assistant_id")),
        senders: select_with_any("Any number", &sender_options, &params.field("sender_id")),
        statuses: choices(&[("", "Any status"), ("active", "Active"), ("ended", "Ended")], &params.field("status")),
        ranges: choices(
            &[
                ("", "Any time"),
                ("7", "Last 7 days"),
                ("30", "Last 30 days"),
                ("90", "Last 90 days"),
                ("custom", "Custom dates"),
            ],
            &params.field("range"),
        ),
        custom_range: params.field("range") == "custom",
        from: params.field("from"),
        to: params.field("to"),
        customer: params.field("customer"),
        failed: params.wants_failed(),
        filtered: params.is_filtered(),
        paged: params.cursor.as_deref().is_some_and(|c| !c.is_empty()),
        next_link: next.map(|cursor| with(&format!("cursor={cursor}"))),
        first_link: if filters.is_empty() { "/conversations".into() } else { format!("/conversations?{filters}") },
        live_query: match params.cursor.as_deref().filter(|c| !c.is_empty()) {
            Some(cursor) if filters.is_empty() => format!("cursor={cursor}"),
            Some(cursor) => format!("{filters}&cursor={cursor}"),
            None => filters.clone(),
        },
        export_query: filters,
        error,
        has_assistants: !assistants.is_empty(),
        has_senders: !senders.is_empty(),
    };
    Ok(render(StatusCode::OK, &page))
}

fn select_with_any(any: &str, options: &[(String, String)], current: &str) -> Vec<Choice> {
    std::iter::once(Choice { value: String::new(), label: any.into(), selected: current.is_empty() })
        .chain(options.iter().map(|(value, label)| Choice {
            value: value.clone(),
            label: label.clone(),
            selected: value == current,
        }))
        .collect()
}

/// One page of conversations, through the API's own filter parsing and sender resolution.
async fn list(
    state: &AppState,
    workspace_id: confab_domain::WorkspaceId,
    query: &crate::http::conversations::ListQuery,
) -> Result<(Vec<Conversation>, Option<String>), PageError> {
    let resolved = query.resolve(state, workspace_id).await?;
    let mut page_request = query.page()?;
    page_request.limit = PAGE_SIZE;
    let Some(filter) = resolved else { return Ok((Vec::new(), None)) };
    let page = state.store.list_conversations(workspace_id, &filter, page_request).await?;
    Ok((page.items, page.next.map(|c| c.encode())))
}

/// The newest message's text as the list shows it: `PREVIEW_CHARS` characters, and an
/// ellipsis when the store's preview (one character longer) says there is more.
fn shortened(preview: &str) -> String {
    match preview.char_indices().nth(PREVIEW_CHARS) {
        Some((cut, _)) => format!("{}…", &preview[..cut]),
        None => preview.to_string(),
    }
}

#[derive(Deserialize)]
pub struct ExportParams {
    format: Option<String>,
    level: Option<String>,
    #[serde(flatten)]
    filters: ListParams,
}

/// `GET /conversations/export?format=&level=` with the list's filters: the API's streamed
/// export, authorised by the session.
pub async fn export(
    State(state): State<AppState>,
    Extension(current): Extension<CurrentUser>,
    Query(params): Query<ExportParams>,
) -> Result<Response, PageError> {
    let mut query = params.filters.list_query(OffsetDateTime::now_utc());
    query.cursor = None;
    Ok(export_response(state, current.user.workspace_id, params.format.as_deref(), params.level.as_deref(), &query)
        .await?)
}
