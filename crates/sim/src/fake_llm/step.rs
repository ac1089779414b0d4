//! One scripted answer of the fake LLM, in no wire format: text, tool calls or an HTTP error,
//! with its latency, token usage, model name and extra headers. The routes render a step in
//! whichever format the request came in.

use confab_domain::Usage;
use serde_json::Value;
use std::time::Duration;

/// What the fake answers to one request. Build with [`Step::reply`], [`Step::tool_call`],
/// [`Step::error`] or [`Step::error_body`], then adjust with the `with_…` methods.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub(super) outcome: Outcome,
    pub(super) latency: Duration,
    pub(super) usage: Option<Usage>,
    pub(super) model: Option<String>,
    pub(super) finish_reason: Option<String>,
    pub(super) headers: Vec<(String, String)>,
}

#[derive(Clone, Debug, PartialEq)]
pub(super) enum Outcome {
    /// A 200 answer: text (possibly empty) and tool calls (possibly none).
    Answer { text: String, tool_calls: Vec<ScriptedCall> },
    /// An HTTP error with the provider's error body around `message`.
    Error { http_status: u16, message: String },
    /// An HTTP answer with exactly this body.
    Raw { http_status: u16, body: String },
}

/// A tool call the fake makes.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct ScriptedCall {
    pub name: String,
    pub arguments: ScriptedArguments,
}

#[derive(Clone, Debug, PartialEq)]
pub(super) enum ScriptedArguments {
    /// Proper JSON arguments.
    Json(Value),
    /// Arguments as this exact text (OpenAI's `arguments` string; Anthropic's `input` carries
    /// the text as a JSON string), to test malformed output.
    Raw(String),
}

impl Step {
    fn new(outcome: Outcome) -> Self {
        Self { outcome, latency: Duration::ZERO, usage: None, model: None, finish_reason: None, headers: Vec::new() }
    }

    /// A text answer.
    pub fn reply(text: impl Into<String>) -> Self {
        Self::new(Outcome::Answer { text: text.into(), tool_calls: Vec::new() })
    }

    /// An answer calling one tool with `arguments` (add more with [`Self::and_tool_call`]).
    pub fn tool_call(name: impl Into<String>, arguments: Value) -> Self {
        Self::new(Outcome::Answer { text: String::new(), tool_calls: Vec::new() }).and_tool_call(name, arguments)
    }

    /// An answer calling one tool with arguments that are exactly `raw` (e.g. invalid JSON).
    pub fn tool_call_raw(name: impl Into<String>, raw: impl Into<String>) -> Self {
        let call = ScriptedCall { name: name.into(), arguments: ScriptedArguments::Raw(raw.into()) };
        Self::new(Outcome::Answer { text: String::new(), tool_calls: vec![call] })
    }

    /// One more tool call in the same answer: parallel calls. (On an error step, ignored.)
    pub fn and_tool_call(mut self, name: impl Into<String>, arguments: Value) -> Self {
        if let Outcome::Answer { tool_calls, .. } = &mut self.outcome {
            tool_calls.push(ScriptedCall { name: name.into(), arguments: ScriptedArguments::Json(arguments) });
        }
        self
    }

    /// Text said alongside the tool calls ("Let me check…"). (On an error step, ignored.)
    pub fn with_text(mut self, said: impl Into<String>) -> Self {
        if let Outcome::Answer { text, .. } = &mut self.outcome {
            *text = said.into();
        }
        self
    }

    /// An HTTP error whose body is the provider's error object around `message` (OpenAI's
    /// `{"error": {...}}` or Anthropic's `{"type": "error", ...}`, with the type and code that
    /// provider uses for `http_status`).
    pub fn error(http_status: u16, message: impl Into<String>) -> Self {
        Self::new(Outcome::Error { http_status, message: message.into() })
    }

    /// An HTTP answer with exactly `body` (a proxy's HTML page, a custom error JSON…).
    pub fn error_body(http_status: u16, body: impl Into<String>) -> Self {
        Self::new(Outcome::Raw { http_status, body: body.into() })
    }

    /// `Retry-After: seconds` on the answer.
    pub fn with_retry_after(self, seconds: u64) -> Self {
        self.with_header("retry-after", seconds.to_string())
    }

    /// `retry-after-ms: millis` on the answer (OpenAI's finer hint).
    pub fn with_retry_after_ms(self, millis: u64) -> Self {
        self.with_header("retry-after-ms", millis.to_string())
    }

    /// Any extra response header (e.g. an HTTP-date `retry-after`, `x-should-retry`).
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into().to_ascii_lowercase(), value.into()));
        self
    }

    /// Waits this long before answering.
    pub fn with_latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Reports this usage (confab's terms: cached tokens are part of the input). Without it
    /// the fake estimates about 4 bytes per token.
    pub fn with_usage(mut self, usage: Usage) -> Self {
        self.usage = Some(usage);
        self
    }

    /// Answers as this model instead of the one asked for (e.g. a dated version).
    pub fn answered_by(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }

    /// Sends this `finish_reason` / `stop_reason` verbatim instead of the natural one.
    pub fn with_finish_reason(mut self, reason: impl Into<String>) -> Self {
        self.finish_reason = Some(reason.into());
        self
    }

    /// The HTTP status this step answers with.
    pub fn http_status(&self) -> u16 {
        match &self.outcome {
            Outcome::Answer { .. } => 200,
            Outcome::Error { http_status, .. } | Outcome::Raw { http_status, .. } => *http_status,
        }
    }
}
