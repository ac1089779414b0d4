//! The fake's two endpoints, `POST /v1/chat/completions` (OpenAI) and `POST /v1/messages`
//! (Anthropic), and a provider-style 404 for every other path. Each request is answered in
//! this order: credentials; the request checks; the next scripted step, or the default echo.
//! Every request is recorded with what it was answered, before any scripted latency.

use super::checks;
use super::responses::{self, estimate_usage, last_user_text, Answer, Reply};
use super::step::{Outcome, Step};
use super::{RecordedRequest, Shared, WireFormat};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, Uri};
use axum::routing::post;
use axum::Router;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

pub(super) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v1/chat/completions", post(openai))
        .route("/v1/messages", post(anthropic))
        .fallback(unknown_path)
        .with_state(shared)
}

async fn openai(State(shared): State<Arc<Shared>>, uri: Uri, headers: HeaderMap, raw: Bytes) -> Answer {
    handle(&shared, WireFormat::OpenAi, &uri, &headers, &raw).await
}

async fn anthropic(State(shared): State<Arc<Shared>>, uri: Uri, headers: HeaderMap, raw: Bytes) -> Answer {
    handle(&shared, WireFormat::Anthropic, &uri, &headers, &raw).await
}

async fn handle(shared: &Shared, format: WireFormat, uri: &Uri, headers: &HeaderMap, raw: &[u8]) -> Answer {
    let arrived = Instant::now();
    let body: Value = serde_json::from_slice(raw).unwrap_or(Value::Null);
    let (answer, latency) = {
        let mut state = shared.state();
        state.serial += 1;
        let serial = state.serial;
        let request_id = format!("req_fake{serial}");
        let refused = refusal(shared, format, headers, &body, &request_id);
        let (answer, latency) = match refused {
            Some(answer) => (answer, Duration::ZERO),
            None => {
                let step = state.script.pop_front();
                let echo = step.is_none();
                let (answer, latency) = answer_step(format, step, &body, raw.len(), serial, &request_id);
                (answer, if echo { shared.config.echo_latency } else { latency })
            }
        };
        let id_header = match format {
            WireFormat::OpenAi => "x-request-id",
            WireFormat::Anthropic => "request-id",
        };
        let answer = answer.with_header(id_header, request_id.clone());
        if !shared.config.forget_requests {
            state.requests.push(RecordedRequest {
                format,
                path: uri.path_and_query().map_or_else(|| uri.path().to_owned(), ToString::to_string),
                headers: headers
                    .iter()
                    .filter_map(|(name, value)| Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned())))
                    .collect::<BTreeMap<_, _>>(),
                body,
                at: arrived,
                http_status: answer.http_status,
                request_id,
            });
        }
        (answer, latency)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    answer
}

/// Credentials and the request checks, as the provider would answer a failure of either.
fn refusal(shared: &Shared, format: WireFormat, headers: &HeaderMap, body: &Value, request_id: &str) -> Option<Answer> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let expected = shared.config.api_key.as_deref();
    match format {
        WireFormat::OpenAi => {
            if let Some(expected) = expected {
                match header(header::AUTHORIZATION.as_str()).and_then(|v| v.strip_prefix("Bearer ")) {
                    None => {
                        return Some(responses::error(format, 401, "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username and password. You can obtain an API key from https://platform.openai.com/account/api-keys.", None, request_id));
                    }
                    Some(given) if given.trim() != expected => {
                        let message = format!(
                            "Incorrect API key provided: {}. You can find your API key at https://platform.openai.com/account/api-keys.",
                            masked(given.trim())
                        );
                        return Some(responses::error(format, 401, &message, None, request_id));
                    }
                    Some(_) => {}
                }
            }
            checks::openai(body).map(|r| responses::error(format, 400, &r.message, r.param.as_deref(), request_id))
        }
        WireFormat::Anthropic => {
            if expected.is_some_and(|key| header("x-api-key") != Some(key)) {
                return Some(responses::error(format, 401, "invalid x-api-key", None, request_id));
            }
            if header("anthropic-version").is_none_or(str::is_empty) {
                return Some(responses::error(format, 400, "anthropic-version: header is required", None, request_id));
            }
            checks::anthropic(body).map(|r| responses::error(format, 400, &r.message, None, request_id))
        }
    }
}

/// `sk-abc…wxyz` the way OpenAI quotes a wrong key back: its start and end, stars between.
fn masked(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    let start: String = chars[..3].iter().collect();
    let end: String = chars[chars.len() - 4..].iter().collect();
    format!("{start}{}{end}", "*".repeat(chars.len() - 7))
}

/// The answer for a well-formed request: the scripted step, or the echo when there is none.
fn answer_step(
    format: WireFormat,
    step: Option<Step>,
    body: &Value,
    request_bytes: usize,
    serial: u64,
    request_id: &str,
) -> (Answer, Duration) {
    let step = step.unwrap_or_else(|| {
        Step::reply(format!("You said: {}", last_user_text(body).unwrap_or_else(|| "nothing".to_owned())))
    });
    let mut answer = match &step.outcome {
        Outcome::Answer { text, tool_calls } => {
            let requested = body.get("model").and_then(Value::as_str).unwrap_or("fake-model");
            let reply = Reply {
                text,
                calls: tool_calls,
                model: step.model.as_deref().unwrap_or(requested),
                usage: step.usage.unwrap_or_else(|| estimate_usage(request_bytes, text, tool_calls)),
                finish: step.finish_reason.as_deref(),
                serial,
            };
            Answer::json(
                200,
                match format {
                    WireFormat::OpenAi => responses::openai_completion(&reply),
                    WireFormat::Anthropic => responses::anthropic_message(&reply),
                },
            )
        }
        Outcome::Error { http_status, message } => responses::error(format, *http_status, message, None, request_id),
        Outcome::Raw { http_status, body } => Answer::raw(*http_status, body.clone()),
    };
    for (name, value) in &step.headers {
        answer = answer.with_header(name, value.clone());
    }
    (answer, step.latency)
}

async fn unknown_path(uri: Uri) -> Answer {
    let message = format!("Unknown request URL: POST {}. Please check the URL for typos.", uri.path());
    responses::error(WireFormat::OpenAi, 404, &message, None, "req_fake0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keys_as_openai_does() {
        assert_eq!(masked("sk-proj-abcdefghijkl1234"), "sk-*****************1234");
        assert_eq!(masked("short"), "*****");
    }
}
