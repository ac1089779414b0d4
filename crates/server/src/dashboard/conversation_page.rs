//! One conversation (`/conversations/{id}`): its whole history with day separators, delivery
//! ticks and the provider's error text, function calls (arguments, result, duration) folded in
//! `<details>`, variables, cost and tokens per message and in total, and the WhatsApp window's
//! remaining time. Actions for agents and up: AI on/off (take over / hand back), reply as an
//! agent (through the API's own path; outside the WhatsApp window the reply box gives way to
//! the reason and the template picker, see `template_picker`),
//! and end the conversation. In a Test conversation (the assistants' test chat) the tester
//! also writes as the customer.

use super::display;
use super::page::{render, Layout, PageError};
use super::session::CurrentUser;
use super::template_picker::TemplatePicker;
use crate::http::api_conversations::exchange;
use crate::http::conversations::{customers_of, send_agent_message};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use confab_domain::{
    Conversation, ConversationId, ConversationStatus, ConversationType, Message, MessageId, MicroUsd, Role,
};
use serde::Deserialize;
use time::OffsetDateTime;

/// Messages shown per page of history (the rest is one "later messages" link away).
const MESSAGES_PER_PAGE: u32 = 500;

pub struct ToolView {
    pub name: String,
    pub arguments: String,
    pub result: String,
    pub error: Option<String>,
    pub duration_ms: i64,
}

pub struct MessageView {
    pub role: &'static str,
    pub author: &'static str,
    pub time: String,
    pub content: String,
    pub kind: &'static str,
    pub outbound: bool,
    pub tick: &'static str,
    pub tick_title: &'static str,
    pub failed: bool,
    pub error: Option<String>,
    pub tool: Option<ToolView>,
    pub cost: Option<String>,
    pub tokens: Option<String>,
    /// What the channel gave for media, locations, buttons…: shown folded, as it came.
    pub details: Option<String>,
    /// A media link the provider gave, if any.
    pub media_link: Option<String>,
}

pub struct Day {
    pub label: String,
    pub messages: Vec<MessageView>,
}

pub struct Variable {
    pub name: String,
    pub value: String,
}

#[derive(Template)]
#[template(path = "conversation.html")]
struct ConversationPage {
    layout: Layout,
    id: String,
    badge_class: &'static str,
    badge_label: &'static str,
    customer: String,
    assistant: String,
    sender: Option<String>,
    active: bool,
    ai_enabled: bool,
    started: String,
    last_activity: String,
    ended: Option<String>,
    message_count: i64,
    total_cost: String,
    total_tokens: i64,
    window_open: bool,
    window_text: Option<String>,
    variables: Vec<Variable>,
    /// What was extracted when the conversation ended (status, summary, the schema's fields).
    extracted: Vec<Variable>,
    days: Vec<Day>,
    later_link: Option<String>,
    reply_blocked: Option<String>,
    /// Outside the WhatsApp window: the reason and the approved templates, instead of the reply box.
    picker: Option<TemplatePicker>,
    error: Option<String>,
    draft: String,
    /// A Test conversation: the tester writes as the customer.
    test_chat: bool,
}

#[derive(Deserialize, Default)]
pub struct HistoryQuery {
    /// Show the messages after this one.
    after: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    Extension(current): Extension<CurrentUser>,
    Path(id): Path<String>,
    Query(query): Query<HistoryQuery>,
) -> Result<Response, PageError> {
    let conversation = find(&state, &current, &id).await?;
    let after = query.after.as_deref().and_then(|a| a.parse::<MessageId>().ok());
    page(&state, &current, &conversation, after, None, String::new()).await.map(|p| render(StatusCode::OK, &p))
}

async fn find(state: &AppState, current: &CurrentUser, id: &str) -> Result<Conversation, PageError> {
    let id: ConversationId = id.parse().map_err(|_| PageError::NotFound("conversation"))?;
    Ok(state.store.get_conversation(current.user.workspace_id, id).await?)
}

async fn page(
    state: &AppState,
    current: &CurrentUser,
    c: &Conversation,
    after: Option<MessageId>,
    error: Option<String>,
    draft: String,
) -> Result<ConversationPage, PageError> {
    let ws = c.workspace_id;
    let now = OffsetDateTime::now_utc();
    let customers = customers_of(state, ws, std::slice::from_ref(c)).await?;
    let assistant = match state.store.get_assistant(ws, c.assistant_id).await {
        Ok(a) => a.name,
        Err(confab_storage::StoreError::NotFound(_)) => "deleted assistant".into(),
        Err(other) => return Err(other.into()),
    };
    let sender = match c.sender_id {
        Some(id) => Some(state.store.get_sender(ws, id).await?.display_phone.as_str().to_string()),
        None => None,
    };
    let messages = state.store.list_messages(ws, c.id, after, MESSAGES_PER_PAGE).await?;
    let later_link = (messages.len() == MESSAGES_PER_PAGE as usize)
        .then(|| messages.last().map(|m| format!("/conversations/{}?after={}", c.id, m.id)))
        .flatten();
    let mut days: Vec<Day> = Vec::new();
    for m in &messages {
        let label = display::day(m.created_at);
        if days.last().is_none_or(|d| d.label != label) {
            days.push(Day { label, messages: Vec::new() });
        }
        if let Some(day) = days.last_mut() {
            day.messages.push(message_view(m));
        }
    }
    let reply_blocked = (c.status == ConversationStatus::Ended)
        .then(|| "This conversation has ended; the customer's next message starts a new one.".to_string());
    let picker = super::template_picker::for_conversation(state, c, now).await?;
    let (badge_class, badge_label) = display::badge(c.kind);
    Ok(ConversationPage {
        layout: Layout::new(
            state,
            current,
            "conversations",
            format!("Conversation with {}", display::customer(customers.get(&c.customer_id))),
        ),
        id: c.id.to_string(),
        badge_class,
        badge_label,
        customer: display::customer(customers.get(&c.customer_id)),
        assistant,
        sender,
        active: c.status == ConversationStatus::Active,
        ai_enabled: c.ai_enabled,
        started: display::datetime(c.created_at),
        last_activity: display::datetime(c.last_message_at),
        ended: c.ended_at.map(display::datetime),
        message_count: c.message_count,
        total_cost: display::money(c.total_cost),
        total_tokens: c.total_tokens,
        window_open: display::window(c, now).is_some_and(|(open, _)| open),
        window_text: display::window(c, now).map(|(_, text)| text),
        variables: as_rows(&c.variables),
        extracted: as_rows(&c.extracted),
        days,
        later_link,
        reply_blocked,
        picker,
        error,
        draft,
        test_chat: c.kind == ConversationType::Test && c.status == ConversationStatus::Active,
    })
}

fn as_rows(values: &serde_json::Map<String, serde_json::Value>) -> Vec<Variable> {
    values
        .iter()
        .map(|(name, value)| Variable {
            name: name.clone(),
            value: value.as_str().map_or_else(|| value.to_string(), str::to_string),
        })
        .collect()
}

fn message_view(m: &Message) -> MessageView {
    let outbound = matches!(m.role, Role::Assistant | Role::Agent);
    let (tick, tick_title) = if outbound { display::tick(m.status) } else { ("", "") };
    let pretty = |v: &serde_json::Value| serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string());
    MessageView {
        role: m.role.as_str(),
        author: match m.role {
            Role::User => "Customer",
            Role::Assistant => "Assistant",
            Role::Agent => "Agent",
            Role::System => "System",
            Role::Tool => "Function call",
        },
        time: display::clock(m.created_at),
        content: m.content.clone(),
        kind: m.kind.as_str(),
        outbound,
        tick,
        tick_title,
        failed: m.status == confab_domain::DeliveryStatus::Failed,
        error: m.error.as_ref().map(|e| {
            let code = e.code.map(|c| format!(" (code {c})")).unwrap_or_default();
            match &e.details {
                Some(details) => format!("{}{code}: {details}", e.title),
                None => format!("{}{code}", e.title),
            }
        }),
        tool: m.tool_call.as_ref().map(|call| ToolView {
            name: call.name.clone(),
            arguments: pretty(&call.arguments),
            result: call.result.as_ref().map_or_else(|| "—".into(), pretty),
            error: call.error.clone(),
            duration_ms: call.duration_ms,
        }),
        cost: (m.cost != MicroUsd::ZERO).then(|| display::money(m.cost)),
        tokens: m.usage.map(|u| format!("{} in · {} out", u.input_tokens, u.output_tokens)),
        details: (m.kind != confab_domain::MessageKind::Text && m.role != Role::Tool && !m.payload.is_null())
            .then(|| pretty(&m.payload)),
        media_link: media_link(&m.payload),
    }
}

/// The first http(s) URL among the payload's usual media fields (`link`, `url`, `MediaUrl0`).
fn media_link(payload: &serde_json::Value) -> Option<String> {
    let found = ["link", "url", "MediaUrl0"].iter().find_map(|key| {
        payload
            .get(key)
            .or_else(|| payload.as_object()?.values().find_map(|v| v.get(key)))?
            .as_str()
            .map(str::to_string)
    })?;
    (found.starts_with("https://") || found.starts_with("http://")).then_some(found)
}

#[derive(Deserialize)]
pub struct AiForm {
    enabled: String,
}

/// `POST /conversations/{id}/ai`: take the conversation over (AI off) or hand it back.
pub async fn set_ai(
    State(state): State<AppState>,
    Extension(current): Extension<CurrentUser>,
    Path(id): Path<String>,
    Form(form): Form<AiForm>,
) -> Result<Response, PageError> {
    require_agent(&current)?;
    let conversation = find(&state, &current, &id).await?;
    let enabled = matches!(form.enabled.as_str(), "true" | "1" | "on");
    state.store.set_conversation_ai(current.user.workspace_id, conversation.id, enabled).await?;
    tracing::info!(conversation_id = %conversation.id, user_id = %current.user.id, enabled, "AI switched from the dashboard");
    Ok(Redirect::to(&format!("/conversations/{}", conversation.id)).into_response())
}

#[derive(Deserialize)]
pub struct ReplyForm {
    text: String,
}

/// `POST /conversations/{id}/reply`: a person's reply; refused with the reason (and the page
/// again, the draft kept) outside the WhatsApp window.
pub async fn reply(
    State(state): State<AppState>,
    Extension(current): Extension<CurrentUser>,
    Path(id): Path<String>,
    Form(form): Form<ReplyForm>,
) -> Result<Response, PageError> {
    require_agent(&current)?;
    let conversation = find(&state, &current, &id).await?;
    if conversation.status == ConversationStatus::Ended {
        let p =
            page(&state, &current, &conversation, None, Some("This conversation has ended.".into()), form.text).await?;
        return Ok(render(StatusCode::CONFLICT, &p));
    }
    let instead = "Send one of the approved templates below instead.";
    match send_agent_message(&state, &conversation, &form.text, instead).await {
        Ok(_) => {
            tracing::info!(conversation_id = %conversation.id, user_id = %current.user.id, "agent replied from the dashboard");
            Ok(Redirect::to(&format!("/conversations/{}", conversation.id)).into_response())
        }
        Err(err) => {
            let (status, message) = match PageError::from(err) {
                PageError::Conflict(message) => (StatusCode::CONFLICT, message),
                PageError::Invalid(message) => (StatusCode::UNPROCESSABLE_ENTITY, message),
                other => return Err(other),
            };
            let p = page(&state, &current, &conversation, None, Some(message), form.text).await?;
            Ok(render(status, &p))
        }
    }
}

/// `POST /conversations/{id}/test-message`: in a Test conversation, a message as the customer;
/// answers once the assistant's turn committed (or the API's reply timeout passed).
pub async fn test_message(
    State(state): State<AppState>,
    Extension(current): Extension<CurrentUser>,
    Path(id): Path<String>,
    Form(form): Form<ReplyForm>,
) -> Result<Response, PageError> {
    require_agent(&current)?;
    let conversation = find(&state, &current, &id).await?;
    if conversation.kind != ConversationType::Test || conversation.status != ConversationStatus::Active {
        let message = "Only an active Test conversation takes messages written as the customer.".to_string();
        let p = page(&state, &current, &conversation, None, Some(message), String::new()).await?;
        return Ok(render(StatusCode::CONFLICT, &p));
    }
    match exchange(&state, &conversation, form.text.clone(), None).await {
        Ok(_) => Ok(Redirect::to(&format!("/conversations/{}", conversation.id)).into_response()),
        Err(err) => match PageError::from(err) {
            PageError::Invalid(message) => {
                let p = page(&state, &current, &conversation, None, Some(message), form.text).await?;
                Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &p))
            }
            other => Err(other),
        },
    }
}

/// `POST /conversations/{id}/end`
pub async fn end(
    State(state): State<AppState>,
    Extension(current): Extension<CurrentUser>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    require_agent(&current)?;
    let conversation = find(&state, &current, &id).await?;
    state.store.end_conversation(current.user.workspace_id, conversation.id, OffsetDateTime::now_utc()).await?;
    tracing::info!(conversation_id = %conversation.id, user_id = %current.user.id, "conversation ended from the dashboard");
    Ok(Redirect::to(&format!("/conversations/{}", conversation.id)).into_response())
}

/// The page again with `message` shown, answered with `status`: an action was refused.
pub(super) async fn with_error(
    state: &AppState,
    current: &CurrentUser,
    c: &Conversation,
    status: StatusCode,
    message: String,
) -> Result<Response, PageError> {
    let p = page(state, current, c, None, Some(message), String::new()).await?;
    Ok(render(status, &p))
}

pub(super) fn require_agent(current: &CurrentUser) -> Result<(), PageError> {
    if current.user.role.can_reply() {
        Ok(())
    } else {
        Err(PageError::Forbidden("Only agents, admins and owners can change a conversation.".into()))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn media_links_are_found_and_only_web_links_count() {
        let twilio = serde_json::json!({ "MediaUrl0": "https://api.twilio.com/media/ME1" });
        assert_eq!(super::media_link(&twilio).as_deref(), Some("https://api.twilio.com/media/ME1"));
        let nested = serde_json::json!({ "image": { "link": "https://example.com/a.jpg" } });
        assert_eq!(super::media_link(&nested).as_deref(), Some("https://example.com/a.jpg"));
        let script = serde_json::json!({ "url": "javascript:alert(1)" });
        assert_eq!(super::media_link(&script), None);
        assert_eq!(super::media_link(&serde_json::json!({ "image": { "id": "123" } })), None);
    }
}
