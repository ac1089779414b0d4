//! The one interface the rest of confab calls a language model through.
//!
//! This module owns the [`LlmClient`] trait. Implementations: `OpenAiClient` (any
//! OpenAI-compatible chat-completions server), `AnthropicClient` (the Messages API) and
//! `WithFallback` (one client, then another); tests may add their own. A client runs one chat
//! call, retries included, and commits nothing: the turn records what it returns.

use super::error::LlmError;
use super::request::ChatRequest;
use super::response::ChatResponse;
use async_trait::async_trait;

/// A chat model behind some API.
#[async_trait]
pub trait LlmClient: Send + Sync {
    /// Sends `request` (retrying as the client's policy allows) and returns the answer, or why
    /// there is none. Either way every billed attempt is reported (see [`ChatResponse::billed`]
    /// and [`LlmError::billed`]).
    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError>;

    /// The provider's short name, e.g. `openai` or `anthropic`, for logs and metrics.
    fn provider(&self) -> &'static str;
}
