//! The provider-neutral LLM layer: what we ask ([`ChatRequest`]), what comes back
//! ([`ChatResponse`] or [`LlmError`]), the [`LlmClient`] trait every provider implements, and
//! the retry machinery the HTTP clients share.
//!
//! Nothing here speaks a provider's wire format; `openai_wire` and `anthropic_wire` do.

mod call_log;
mod client;
mod error;
pub(crate) mod http_attempt;
mod request;
mod response;
mod retry;
mod retry_hint;

pub use client::LlmClient;
pub use error::{redact_secret, ClientBuildError, LlmError, LlmErrorKind};
pub use request::{ChatMessage, ChatRequest, ToolCallRequest, ToolChoice, ToolSpec};
pub use response::{BilledAttempt, ChatResponse, FinishReason};
pub use retry::RetryPolicy;
pub use retry_hint::{parse_retry_after, parse_retry_after_ms, RetryHint};

pub use http_attempt::ProviderErrorBody;

pub(crate) use call_log::finish_call;
pub(crate) use error::body_excerpt;
pub(crate) use retry::call_with_retries;
