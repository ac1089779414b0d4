//! One model, and another when the first fails.
//!
//! This module owns [`WithFallback`]: an [`LlmClient`] that sends a request to its primary
//! client and, if that fails after the primary's own retries, to its fallback (another model,
//! another provider, or both), optionally under another model name. The answer's `model` says
//! which model answered; tokens the primary was billed for without a usable answer travel in
//! `discarded` (or in the error's `billed`), so every attempt is still priced.
//!
//! Every primary failure falls back: a rate limit or an outage is what a fallback is for, and a
//! refused request (a bad key, an unknown model, a context too long) may well suit the other
//! model. Failed requests cost nothing, so trying is cheap.

use crate::llm::{ChatRequest, ChatResponse, LlmClient, LlmError};
use async_trait::async_trait;
use std::sync::Arc;
use tokio::time::Instant;

/// A primary client and the client to use when it fails.
#[derive(Clone)]
pub struct WithFallback {
    pub primary: Arc<dyn LlmClient>,
    pub fallback: Arc<dyn LlmClient>,
    /// The model to ask the fallback for; `None` asks for the request's own model.
    pub fallback_model: Option<String>,
}

impl WithFallback {
    pub fn new(primary: Arc<dyn LlmClient>, fallback: Arc<dyn LlmClient>) -> Self {
        Self { primary, fallback, fallback_model: None }
    }

    /// Asks the fallback for `model` instead of the request's model.
    pub fn with_fallback_model(mut self, model: impl Into<String>) -> Self {
        self.fallback_model = Some(model.into()).filter(|m| !m.is_empty());
        self
    }
}

impl std::fmt::Debug for WithFallback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WithFallback")
            .field("primary", &self.primary.provider())
            .field("fallback", &self.fallback.provider())
            .field("fallback_model", &self.fallback_model)
            .finish()
    }
}

#[async_trait]
impl LlmClient for WithFallback {
    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let started = Instant::now();
        let primary_error = match self.primary.chat(request).await {
            Ok(response) => return Ok(response),
            Err(error) => error,
        };
        let fallback_request;
        let request = match &self.fallback_model {
            Some(model) if *model != request.model => {
                fallback_request = ChatRequest { model: model.clone(), ..request.clone() };
                &fallback_request
            }
            _ => request,
        };
        tracing::warn!(
            primary = self.primary.provider(),
            fallback = self.fallback.provider(),
            fallback_model = %request.model,
            kind = primary_error.kind().as_str(),
            "primary llm failed, asking the fallback: {}",
            primary_error.message()
        );
        match self.fallback.chat(request).await {
            Ok(mut response) => {
                let mut discarded = primary_error.billed().to_vec();
                discarded.append(&mut response.discarded);
                response.discarded = discarded;
                response.latency = started.elapsed();
                Ok(response)
            }
            Err(fallback_error) => Err(both_failed(&primary_error, fallback_error)),
        }
    }

    /// The primary's provider (the answer's `model` says who actually answered).
    fn provider(&self) -> &'static str {
        self.primary.provider()
    }
}

/// The fallback's error, carrying the primary's attempts, billing and story too.
fn both_failed(primary: &LlmError, fallback: LlmError) -> LlmError {
    let message =
        format!("{} (after the primary {} failed: {})", fallback.message(), primary.provider(), primary.message());
    let mut error = LlmError::new(fallback.provider(), fallback.kind(), message)
        .with_attempts(primary.attempts() + fallback.attempts())
        .with_retryable(primary.is_retryable() || fallback.is_retryable())
        .with_retry_after(fallback.retry_after().or(primary.retry_after()))
        .with_request_id(fallback.request_id().map(str::to_owned))
        .with_provider_code(fallback.provider_code().map(str::to_owned))
        .with_billed(primary.billed().iter().cloned())
        .with_billed(fallback.billed().iter().cloned());
    if let Some(status) = fallback.http_status() {
        error = error.with_http_status(status);
    }
    error
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::{BilledAttempt, ChatMessage, LlmErrorKind};
    use confab_domain::Usage;
    use std::sync::Mutex;

    /// A client that answers from a list and records the models it was asked for.
    struct Scripted {
        name: &'static str,
        answers: Mutex<Vec<Result<ChatResponse, LlmError>>>,
        asked: Mutex<Vec<String>>,
    }

    impl Scripted {
        fn new(name: &'static str, answers: Vec<Result<ChatResponse, LlmError>>) -> Arc<Self> {
            Arc::new(Self { name, answers: Mutex::new(answers), asked: Mutex::new(Vec::new()) })
        }
    }

    #[async_trait]
    impl LlmClient for Scripted {
        async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
            self.asked.lock().unwrap().push(request.model.clone());
            self.answers.lock().unwrap().remove(0)
        }
        fn provider(&self) -> &'static str {
            self.name
        }
    }

    fn answer(model: &str) -> ChatResponse {
        ChatResponse { content: Some(format!("from {model}")), model: model.into(), ..ChatResponse::default() }
    }

    fn request() -> ChatRequest {
        ChatRequest { model: "gpt-4o-mini".into(), messages: vec![ChatMessage::user("hi")], ..ChatRequest::default() }
    }

    fn usage(input_tokens: u64) -> Usage {
        Usage { input_tokens, output_tokens: 1, cached_input_tokens: 0 }
    }

    #[tokio::test]
    async fn the_primary_answers_when_it_can() {
        let primary = Scripted::new("openai", vec![Ok(answer("gpt-4o-mini"))]);
        let fallback = Scripted::new("anthropic", vec![]);
        let client =
            WithFallback::new(primary.clone(), fallback.clone()).with_fallback_model("claude-3-5-haiku-latest");
        let r = client.chat(&request()).await.unwrap();
        assert_eq!(r.model, "gpt-4o-mini");
        assert!(fallback.asked.lock().unwrap().is_empty());
        assert_eq!(client.provider(), "openai");
    }

    #[tokio::test]
    async fn the_fallback_answers_under_its_own_model_and_the_primary_billing_is_kept() {
        let billed = BilledAttempt { model: "gpt-4o-mini-2024-07-18".into(), usage: usage(40) };
        let primary_error = LlmError::new("openai", LlmErrorKind::MalformedToolArguments, "bad json")
            .with_http_status(200)
            .with_billed([billed.clone()]);
        let primary = Scripted::new("openai", vec![Err(primary_error)]);
        let fallback = Scripted::new("anthropic", vec![Ok(answer("claude-3-5-haiku-20241022"))]);
        let client = WithFallback::new(primary, fallback.clone()).with_fallback_model("claude-3-5-haiku-latest");
        let r = client.chat(&request()).await.unwrap();
        assert_eq!(r.model, "claude-3-5-haiku-20241022");
        assert_eq!(r.content.as_deref(), Some("from claude-3-5-haiku-20241022"));
        assert_eq!(r.discarded, vec![billed]);
        assert_eq!(fallback.asked.lock().unwrap().as_slice(), ["claude-3-5-haiku-latest"]);
    }

    #[tokio::test]
    async fn when_both_fail_the_error_tells_both_stories() {
        let primary = Scripted::new(
            "openai",
            vec![Err(LlmError::new("openai", LlmErrorKind::Server, "boom").with_http_status(500).with_attempts(3))],
        );
        let fallback = Scripted::new(
            "anthropic",
            vec![Err(LlmError::new("anthropic", LlmErrorKind::Unauthorized, "invalid x-api-key")
                .with_http_status(401)
                .with_request_id(Some("req_1".into())))],
        );
        let e = WithFallback::new(primary, fallback.clone()).chat(&request()).await.unwrap_err();
        assert_eq!(e.provider(), "anthropic");
        assert_eq!(e.kind(), LlmErrorKind::Unauthorized);
        assert_eq!((e.attempts(), e.http_status(), e.request_id()), (4, Some(401), Some("req_1")));
        assert!(e.is_retryable(), "the primary's outage may pass");
        assert_eq!(e.message(), "invalid x-api-key (after the primary openai failed: boom)");
        assert_eq!(fallback.asked.lock().unwrap().as_slice(), ["gpt-4o-mini"], "same model without an override");
    }
}
