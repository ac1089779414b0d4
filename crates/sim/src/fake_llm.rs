//! An honest, scripted fake LLM server on `127.0.0.1:0` that speaks both wire formats confab
//! uses, so the LLM clients, the turn and the demo run without a provider:
//! - `POST /v1/chat/completions`: OpenAI chat completions. Answers the chat completion object
//!   (`id: "chatcmpl-…"`, `object`, `created`, `model`, `choices[{index, message: {role,
//!   content, tool_calls?, refusal}, logprobs, finish_reason}]`, `usage` with
//!   `prompt_tokens_details.cached_tokens`, `system_fingerprint`) or OpenAI's error object
//!   `{"error": {message, type, param, code}}`; an `x-request-id` header on every answer.
//! - `POST /v1/messages`: Anthropic Messages. Answers the Message object (`id: "msg_…"`,
//!   `type`, `role`, `model`, `content` blocks of `text` and `tool_use`, `stop_reason`,
//!   `stop_sequence`, `usage` with `cache_read_input_tokens` and
//!   `cache_creation_input_tokens`, where `input_tokens` counts only uncached input, as
//!   Anthropic does) or `{"type": "error", "error": {type, message}, "request_id"}`; a
//!   `request-id` header on every answer.
//!
//! Each request is answered in this order, as the real services would: a missing or wrong key
//! (when [`FakeLlmConfig::api_key`] is set; Anthropic also requires `anthropic-version`); a
//! malformed request (the checks the providers make that confab's clients could get wrong:
//! required fields, roles, every tool call answered by a tool result in the next message(s) and
//! none answered that was not asked, `tool_choice` only with tools, Anthropic's non-empty text
//! and 0–1 temperature); then the next [`Step`] of the script, or, when the script is empty, a
//! default echo: `You said: <the last user text>`.
//!
//! A step is text ([`Step::reply`]), tool calls ([`Step::tool_call`], several for parallel
//! calls, or [`Step::tool_call_raw`] for malformed arguments), or an HTTP error
//! ([`Step::error`] in the provider's error shape, [`Step::error_body`] verbatim), each with
//! optional latency, usage, model name, finish reason and headers (`Retry-After`,
//! `retry-after-ms`, `x-should-retry`…). Steps are used in order, whichever endpoint is hit.
//! Without a usage the fake estimates about four bytes per token.
//!
//! Every request is recorded (format, path, headers, JSON body, arrival time, answered
//! status) for assertions: [`FakeLlm::requests`]. Arrival times are `tokio::time::Instant`s, so
//! tests under paused time see virtual time.
//!
//! Deliberate differences from the real services: any model name is accepted; no streaming;
//! a scripted error is answered only to a well-formed request.

mod checks;
mod responses;
mod routes;
mod step;

pub use step::Step;

use serde_json::Value;
use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Which wire format a request used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WireFormat {
    /// `POST /v1/chat/completions`
    OpenAi,
    /// `POST /v1/messages`
    Anthropic,
}

/// How the fake behaves.
#[derive(Clone, Debug, Default)]
pub struct FakeLlmConfig {
    /// When set, requests must carry this key (`Authorization: Bearer` for OpenAI,
    /// `x-api-key` for Anthropic) or get the provider's 401.
    pub api_key: Option<String>,
    /// How long the default echo (no script step left) takes: a model's latency, for load
    /// tests. Zero by default.
    pub echo_latency: Duration,
    /// Keep no record of requests ([`FakeLlm::requests`] stays empty), so a long load test
    /// does not grow the fake's memory.
    pub forget_requests: bool,
}

impl FakeLlmConfig {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// The default echo answers after `latency`.
    pub fn with_echo_latency(mut self, latency: Duration) -> Self {
        self.echo_latency = latency;
        self
    }

    /// Records no requests.
    pub fn forgetting_requests(mut self) -> Self {
        self.forget_requests = true;
        self
    }
}

/// One request as the fake saw it.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedRequest {
    pub format: WireFormat,
    /// The path and query, e.g. `/v1/chat/completions?api-version=2024-10-21`.
    pub path: String,
    /// Header names in lower case; values that are not text are left out.
    pub headers: BTreeMap<String, String>,
    /// The request body (`Value::Null` if it was not JSON).
    pub body: Value,
    /// When it arrived (`tokio` time: virtual under paused time).
    pub at: Instant,
    /// What the fake answered.
    pub http_status: u16,
    /// The request id the fake gave it (`req_…`).
    pub request_id: String,
}

impl RecordedRequest {
    /// A header's value, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(&name.to_ascii_lowercase()).map(String::as_str)
    }
}

#[derive(Default)]
struct State {
    script: VecDeque<Step>,
    requests: Vec<RecordedRequest>,
    serial: u64,
}

/// What the routes share.
struct Shared {
    config: FakeLlmConfig,
    state: Mutex<State>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running fake LLM server. Stops when dropped.
pub struct FakeLlm {
    shared: Arc<Shared>,
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

impl FakeLlm {
    /// Starts serving on `127.0.0.1` at a free port, accepting any key (or none).
    pub async fn start() -> std::io::Result<Self> {
        Self::start_with(FakeLlmConfig::default()).await
    }

    pub async fn start_with(config: FakeLlmConfig) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared { config, state: Mutex::new(State::default()) });
        let (shutdown, stopped) = oneshot::channel::<()>();
        let app = routes::router(Arc::clone(&shared));
        let server = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            // the listener is gone either way; a serving error ends the fake like a stop
            let _ = serve.await;
        });
        Ok(Self { shared, addr, shutdown: Some(shutdown), server: Some(server) })
    }

    /// `http://127.0.0.1:PORT/v1`: the base URL for OpenAI-compatible clients (and accepted by
    /// confab's Anthropic client, which then appends only `/messages`).
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// `http://127.0.0.1:PORT`: the API root, as Anthropic's own base URL is written.
    pub fn root_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Adds a step at the end of the script.
    pub fn push(&self, step: Step) {
        self.shared.state().script.push_back(step);
    }

    /// Adds steps at the end of the script, in order.
    pub fn script(&self, steps: impl IntoIterator<Item = Step>) {
        self.shared.state().script.extend(steps);
    }

    /// Steps not yet used.
    pub fn pending_steps(&self) -> usize {
        self.shared.state().script.len()
    }

    /// Every request so far, in arrival order, whatever it was answered.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.state().requests.clone()
    }

    /// Stops serving: no new connections; open ones are closed.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(mut server) = self.server.take() {
            if tokio::time::timeout(Duration::from_secs(2), &mut server).await.is_err() {
                server.abort();
            }
        }
    }
}

impl Drop for FakeLlm {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}
