//! The fake's one edge, `POST /{version}/{phone_number_id}/messages`, and a Graph-style answer
//! for every other path. Each request is answered in this order, as Meta would: an injected
//! failure; an unknown phone-number id; a missing or wrong token; a malformed body; success.
//! Every request is recorded with what it was answered.

use super::responses::{new_trace, new_wamid, wa_id_of, Answer};
use super::status_poster::PostJob;
use super::{AsyncFailure, Injected, RecordedRead, RecordedSend, Shared};
use crate::meta_webhook::BusinessNumber;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, Uri};
use axum::routing::post;
use axum::Router;
use serde_json::Value;
use std::sync::Arc;
use time::OffsetDateTime;

pub(super) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/{version}/{phone_number_id}/messages", post(messages))
        .fallback(unknown_path)
        .with_state(shared)
}

/// A send the fake accepted.
struct Accepted {
    wamid: String,
    to: String,
    reaction: bool,
    template: bool,
    failure: Option<AsyncFailure>,
}

/// What one request asked for.
struct Request {
    version: String,
    phone_number_id: String,
    token: Option<String>,
    body: Value,
}

async fn messages(
    State(shared): State<Arc<Shared>>,
    Path((version, phone_number_id)): Path<(String, String)>,
    headers: HeaderMap,
    raw: Bytes,
) -> Answer {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned());
    let body = serde_json::from_slice(&raw).unwrap_or(Value::Null);
    let request = Request { version, phone_number_id, token, body };
    if request.body.get("status").and_then(Value::as_str) == Some("read") {
        mark_read(&shared, request)
    } else {
        send(&shared, request)
    }
}

fn send(shared: &Shared, request: Request) -> Answer {
    let mut state = shared.state();
    state.next_id += 1;
    let serial = state.next_id;
    let trace = new_trace(serial);
    let (answer, accepted) = match state.injected.pop_front() {
        Some(injected) => (injected_answer(injected, &trace), None),
        None => match refusal(shared, &request, &trace).or_else(|| malformed_send(&request.body, &trace)) {
            Some(refused) => (refused, None),
            None => {
                let text = |key: &str| request.body.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
                let (to, kind) = (text("to"), text("type"));
                let wamid = new_wamid(&to, serial);
                let answer = Answer::sent(&to, &wamid, kind == "template");
                let failure = state.async_failures.pop_front();
                let template = kind == "template";
                (answer, Some(Accepted { wamid, to, reaction: kind == "reaction", template, failure }))
            }
        },
    };
    state.sends.push(RecordedSend {
        version: request.version,
        phone_number_id: request.phone_number_id.clone(),
        token: request.token,
        body: request.body,
        at: OffsetDateTime::now_utc(),
        http_status: answer.http_status,
        wamid: accepted.as_ref().map(|a| a.wamid.clone()),
    });
    drop(state);
    if let (Some(accepted), Some(webhook)) = (accepted, &shared.config.status_webhook) {
        let number = BusinessNumber {
            display_phone_number: shared
                .number(&request.phone_number_id)
                .map(|n| n.display_phone_number.clone())
                .unwrap_or_default(),
            phone_number_id: request.phone_number_id,
        };
        let job = PostJob::new(
            webhook,
            &number,
            &accepted.wamid,
            &wa_id_of(&accepted.to),
            accepted.reaction,
            accepted.template.then(|| shared.config.template_category.as_deref().unwrap_or("utility")),
            accepted.failure,
        );
        // the poster lives as long as the fake; if it is gone the fake is stopping
        let _ = shared.post_queue.send(job);
    }
    answer
}

fn mark_read(shared: &Shared, request: Request) -> Answer {
    let mut state = shared.state();
    state.next_id += 1;
    let trace = new_trace(state.next_id);
    let message_id = request.body.get("message_id").and_then(Value::as_str).map(str::to_owned);
    let answer = match state.injected.pop_front() {
        Some(injected) => injected_answer(injected, &trace),
        None => refusal(shared, &request, &trace)
            .or_else(|| missing(&request.body, &["messaging_product", "message_id"], &trace))
            .unwrap_or_else(Answer::read),
    };
    state.reads.push(RecordedRead {
        version: request.version,
        phone_number_id: request.phone_number_id,
        token: request.token,
        message_id,
        typing_indicator: request.body.get("typing_indicator").is_some_and(Value::is_object),
        body: request.body,
        at: OffsetDateTime::now_utc(),
        http_status: answer.http_status,
    });
    answer
}

fn injected_answer(injected: Injected, trace: &str) -> Answer {
    match injected {
        Injected::Error { http_status, code, title } => Answer::meta_error(http_status, code, &title, trace),
        Injected::Raw { http_status, body } => Answer::raw(http_status, body),
    }
}

/// Whom the fake refuses: numbers it does not serve, requests without the number's token.
fn refusal(shared: &Shared, request: &Request, trace: &str) -> Option<Answer> {
    let Some(number) = shared.number(&request.phone_number_id) else {
        return Some(Answer::unknown_object(&request.phone_number_id, trace));
    };
    match request.token.as_deref() {
        None | Some("") => Some(Answer::no_token(trace)),
        Some(token) if token != number.access_token => Some(Answer::bad_token(trace)),
        Some(_) => None,
    }
}

/// Minimal checks of a send body: what Meta requires of every message.
fn malformed_send(body: &Value, trace: &str) -> Option<Answer> {
    if !body.is_object() {
        return Some(Answer::invalid_parameter("the request body is not a JSON object", trace));
    }
    if let Some(refused) = missing(body, &["messaging_product", "to", "type"], trace) {
        return Some(refused);
    }
    if body.get("messaging_product").and_then(Value::as_str) != Some("whatsapp") {
        return Some(Answer::invalid_parameter("messaging_product must be \"whatsapp\"", trace));
    }
    let kind = body.get("type").and_then(Value::as_str).unwrap_or_default();
    if !body.get(kind).is_some_and(Value::is_object) {
        return Some(Answer::missing_parameter(kind, trace));
    }
    None
}

/// The first of `names` that is absent or empty.
fn missing(body: &Value, names: &[&str], trace: &str) -> Option<Answer> {
    names
        .iter()
        .find(|name| body.get(**name).and_then(Value::as_str).is_none_or(str::is_empty))
        .map(|name| Answer::missing_parameter(name, trace))
}

async fn unknown_path(uri: Uri) -> Answer {
    Answer::unknown_path(uri.path(), &new_trace(0))
}
