//! The HTTP client for Anthropic's Messages API.
//!
//! This module owns the configuration ([`AnthropicConfig`]: base URL, key, API version, the
//! default `max_tokens`, the per-attempt timeout, the retry policy) and the calls: `POST
//! {base_url}/v1/messages` with `x-api-key`, `anthropic-version` and the body `anthropic_wire`
//! builds, retried as [`RetryPolicy`] says (429, 5xx and 529 "overloaded"), answered as a
//! [`ChatResponse`] or an [`LlmError`].
//!
//! The key goes into the `x-api-key` header, marked sensitive, and nowhere else. Logs carry
//! the provider, model, status, token counts and latency; never prompt or answer text.

use crate::anthropic_wire::{self, AnthropicWireOptions, DEFAULT_MAX_TOKENS, PROVIDER};
use crate::llm::http_attempt;
use crate::llm::{call_with_retries, ChatRequest, ChatResponse, ClientBuildError, LlmClient, LlmError, RetryPolicy};
use async_trait::async_trait;
use confab_domain::Secret;
use reqwest::header::{HeaderValue, CONTENT_TYPE};
use reqwest::Url;
use std::time::Duration;
use tokio::time::Instant;

/// Anthropic's API root.
pub const ANTHROPIC_BASE_URL: &str = "https://api.anthropic.com";

/// The `anthropic-version` header: the Messages API's current (and only) stable version.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// Where and how to reach Anthropic.
#[derive(Clone, Debug)]
pub struct AnthropicConfig {
    /// The API root, e.g. `https://api.anthropic.com`; `/v1/messages` is appended (just
    /// `/messages` when the root already ends in `/v1`).
    pub base_url: String,
    pub api_key: Secret,
    /// The `anthropic-version` header.
    pub version: String,
    /// `max_tokens` when a request gives none (Anthropic requires it).
    pub default_max_tokens: u32,
    /// At most one tool call per answer.
    pub disable_parallel_tool_use: bool,
    /// Each attempt fails after this long (connect, send, wait, read).
    pub request_timeout: Duration,
    pub retry: RetryPolicy,
}

impl AnthropicConfig {
    /// Anthropic's API with `api_key`, version 2023-06-01, 1024 tokens by default, a
    /// 60-second timeout and the default retry policy.
    pub fn new(api_key: Secret) -> Self {
        Self {
            base_url: ANTHROPIC_BASE_URL.to_owned(),
            api_key,
            version: ANTHROPIC_VERSION.to_owned(),
            default_max_tokens: DEFAULT_MAX_TOKENS,
            disable_parallel_tool_use: false,
            request_timeout: Duration::from_secs(60),
            retry: RetryPolicy::default(),
        }
    }

    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }
}

/// A client for Anthropic's Messages API. Cheap to clone; share one per key.
#[derive(Clone, Debug)]
pub struct AnthropicClient {
    http: reqwest::Client,
    url: Url,
    api_key: HeaderValue,
    version: HeaderValue,
    config: AnthropicConfig,
}

impl AnthropicClient {
    pub fn new(config: AnthropicConfig) -> Result<Self, ClientBuildError> {
        let base = http_attempt::parse_base_url(&config.base_url)?;
        let ends_in_v1 = base.path_segments().and_then(|mut s| s.rfind(|s| !s.is_empty())) == Some("v1");
        let url = http_attempt::endpoint(&base, if ends_in_v1 { &["messages"] } else { &["v1", "messages"] });
        let key = config.api_key.expose().trim();
        if key.is_empty() {
            return Err(ClientBuildError::MissingApiKey(PROVIDER));
        }
        let mut api_key = HeaderValue::from_str(key).map_err(|_| ClientBuildError::InvalidApiKey(PROVIDER))?;
        api_key.set_sensitive(true);
        let version = HeaderValue::from_str(&config.version).unwrap_or(HeaderValue::from_static(ANTHROPIC_VERSION));
        let http = http_attempt::http_client(config.request_timeout)?;
        Ok(Self { http, url, api_key, version, config })
    }

    /// The URL requests go to.
    pub fn endpoint(&self) -> &Url {
        &self.url
    }

    pub fn config(&self) -> &AnthropicConfig {
        &self.config
    }

    fn wire_options(&self) -> AnthropicWireOptions {
        AnthropicWireOptions {
            default_max_tokens: self.config.default_max_tokens,
            disable_parallel_tool_use: self.config.disable_parallel_tool_use,
        }
    }

    async fn attempt(&self, body: &[u8], model: &str) -> Result<ChatResponse, LlmError> {
        let request = self
            .http
            .post(self.url.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header("x-api-key", self.api_key.clone())
            .header("anthropic-version", self.version.clone())
            .body(body.to_vec());
        let answer = http_attempt::send(PROVIDER, request, self.config.request_timeout).await?;
        if !(200..300).contains(&answer.status) {
            let parsed = anthropic_wire::parse_error_body(&answer.body);
            return Err(http_attempt::status_error(PROVIDER, &answer, parsed, Some(self.config.api_key.expose())));
        }
        anthropic_wire::parse_response(answer.status, &answer.body, model)
    }
}

#[async_trait]
impl LlmClient for AnthropicClient {
    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let started = Instant::now();
        let body = anthropic_wire::request_body(request, &self.wire_options()).to_string().into_bytes();
        let result = call_with_retries(&self.config.retry, |_| self.attempt(&body, &request.model)).await;
        crate::llm::finish_call(PROVIDER, &request.model, started, result)
    }

    fn provider(&self) -> &'static str {
        PROVIDER
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        let url = |base: &str| {
            AnthropicClient::new(AnthropicConfig::new(Secret::new("k")).with_base_url(base))
                .unwrap()
                .endpoint()
                .to_string()
        };
        assert_eq!(url(ANTHROPIC_BASE_URL), "https://api.anthropic.com/v1/messages");
        assert_eq!(url("https://api.anthropic.com/v1/"), "https://api.anthropic.com/v1/messages");
        assert_eq!(url("http://127.0.0.1:9000/proxy"), "http://127.0.0.1:9000/proxy/v1/messages");
    }

    #[test]
    fn needs_a_key_and_hides_it() {
        assert!(matches!(
            AnthropicClient::new(AnthropicConfig::new(Secret::new(" "))),
            Err(ClientBuildError::MissingApiKey(_))
        ));
        let client = AnthropicClient::new(AnthropicConfig::new(Secret::new("sk-ant-very-secret"))).unwrap();
        let shown = format!("{client:?}");
        assert!(!shown.contains("very-secret"), "{shown}");
    }
}
