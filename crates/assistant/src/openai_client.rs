//! The HTTP client for OpenAI-compatible chat completions: OpenAI itself, Azure OpenAI,
//! OpenRouter, and local servers (Ollama, vLLM, llama.cpp's `llama-server`).
//!
//! This module owns the configuration of such a server ([`OpenAiConfig`]: base URL, optional
//! key and how it is sent, the per-attempt timeout, the retry policy) and the calls: `POST
//! {base_url}/chat/completions` with the body `openai_wire` builds, retried as
//! [`RetryPolicy`] says, answered as a [`ChatResponse`] or an [`LlmError`].
//!
//! The API key goes into the `Authorization: Bearer` header (or Azure's `api-key` header),
//! marked sensitive, and nowhere else: not into URLs, errors, logs or `Debug`. Local servers
//! need no key; none is sent then. Logs carry the provider, model, status, token counts and
//! latency; never prompt or answer text.

use crate::llm::http_attempt;
use crate::llm::{call_with_retries, ChatRequest, ChatResponse, ClientBuildError, LlmClient, LlmError, RetryPolicy};
use crate::openai_wire::{self, MaxTokensField, OpenAiWireOptions, PROVIDER};
use async_trait::async_trait;
use confab_domain::Secret;
use reqwest::header::{HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use reqwest::Url;
use std::time::Duration;
use tokio::time::Instant;

/// OpenAI's own API.
pub const OPENAI_BASE_URL: &str = "https://api.openai.com/v1";

/// How the API key is sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OpenAiAuth {
    /// `Authorization: Bearer KEY`: OpenAI, OpenRouter, vLLM, llama.cpp, Ollama (ignored).
    #[default]
    Bearer,
    /// `api-key: KEY`: Azure OpenAI.
    AzureApiKey,
}

/// Where and how to reach an OpenAI-compatible server.
#[derive(Clone, Debug)]
pub struct OpenAiConfig {
    /// The API root that `/chat/completions` is appended to, e.g. `https://api.openai.com/v1`,
    /// `http://127.0.0.1:11434/v1` (Ollama), `https://openrouter.ai/api/v1`, or an Azure
    /// deployment `https://RESOURCE.openai.azure.com/openai/deployments/DEPLOYMENT`.
    pub base_url: String,
    /// `None` sends no credentials (local servers).
    pub api_key: Option<Secret>,
    pub auth: OpenAiAuth,
    /// Azure's `api-version` query parameter, e.g. `2024-10-21`.
    pub api_version: Option<String>,
    pub max_tokens_field: MaxTokensField,
    /// `parallel_tool_calls` to send when there are tools; `None` leaves the server's default.
    pub parallel_tool_calls: Option<bool>,
    /// Each attempt fails after this long (connect, send, wait, read).
    pub request_timeout: Duration,
    pub retry: RetryPolicy,
}

impl OpenAiConfig {
    /// A server at `base_url` with no key, `max_tokens`, a 60-second timeout and the default
    /// retry policy: right for Ollama, vLLM and llama.cpp.
    pub fn compatible(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            api_key: None,
            auth: OpenAiAuth::Bearer,
            api_version: None,
            max_tokens_field: MaxTokensField::MaxTokens,
            parallel_tool_calls: None,
            request_timeout: Duration::from_secs(60),
            retry: RetryPolicy::default(),
        }
    }

    /// OpenAI's API with `api_key`, sending `max_completion_tokens` as OpenAI now documents.
    pub fn openai(api_key: Secret) -> Self {
        Self {
            api_key: Some(api_key),
            max_tokens_field: MaxTokensField::MaxCompletionTokens,
            ..Self::compatible(OPENAI_BASE_URL)
        }
    }

    /// An Azure OpenAI deployment, `https://RESOURCE.openai.azure.com/openai/deployments/NAME`,
    /// with its `api-key` and `api-version`. (Azure's newer `/openai/v1` API is plain
    /// [`Self::compatible`] with a key.)
    pub fn azure(deployment_url: impl Into<String>, api_key: Secret, api_version: impl Into<String>) -> Self {
        Self {
            api_key: Some(api_key),
            auth: OpenAiAuth::AzureApiKey,
            api_version: Some(api_version.into()),
            max_tokens_field: MaxTokensField::MaxCompletionTokens,
            ..Self::compatible(deployment_url)
        }
    }

    pub fn with_api_key(mut self, api_key: Secret) -> Self {
        self.api_key = Some(api_key).filter(|k| !k.is_empty());
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

/// A client for one OpenAI-compatible server. Cheap to clone; share one per server.
#[derive(Clone, Debug)]
pub struct OpenAiClient {
    http: reqwest::Client,
    url: Url,
    /// The credentials header, its value marked sensitive.
    auth_header: Option<(HeaderName, HeaderValue)>,
    config: OpenAiConfig,
}

impl OpenAiClient {
    pub fn new(config: OpenAiConfig) -> Result<Self, ClientBuildError> {
        let base = http_attempt::parse_base_url(&config.base_url)?;
        let mut url = http_attempt::endpoint(&base, &["chat", "completions"]);
        if let Some(version) = &config.api_version {
            url.query_pairs_mut().append_pair("api-version", version);
        }
        let auth_header = match config.api_key.as_ref().map(|k| k.expose().trim()).filter(|k| !k.is_empty()) {
            None => None,
            Some(key) => {
                let (name, value) = match config.auth {
                    OpenAiAuth::Bearer => (AUTHORIZATION, format!("Bearer {key}")),
                    OpenAiAuth::AzureApiKey => (HeaderName::from_static("api-key"), key.to_owned()),
                };
                let mut value = HeaderValue::from_str(&value).map_err(|_| ClientBuildError::InvalidApiKey(PROVIDER))?;
                value.set_sensitive(true);
                Some((name, value))
            }
        };
        let http = http_attempt::http_client(config.request_timeout)?;
        Ok(Self { http, url, auth_header, config })
    }

    /// The URL requests go to.
    pub fn endpoint(&self) -> &Url {
        &self.url
    }

    pub fn config(&self) -> &OpenAiConfig {
        &self.config
    }

    fn wire_options(&self) -> OpenAiWireOptions {
        OpenAiWireOptions {
            max_tokens_field: self.config.max_tokens_field,
            parallel_tool_calls: self.config.parallel_tool_calls,
        }
    }

    async fn attempt(&self, body: &[u8], model: &str) -> Result<ChatResponse, LlmError> {
        let mut request = self
            .http
            .post(self.url.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(body.to_vec());
        if let Some((name, value)) = &self.auth_header {
            request = request.header(name.clone(), value.clone());
        }
        let answer = http_attempt::send(PROVIDER, request, self.config.request_timeout).await?;
        let secret = self.config.api_key.as_ref().map(Secret::expose);
        if !(200..300).contains(&answer.status) {
            let parsed = openai_wire::parse_error_body(&answer.body);
            return Err(http_attempt::status_error(PROVIDER, &answer, parsed, secret));
        }
        openai_wire::parse_response(answer.status, &answer.body, model)
    }
}

#[async_trait]
impl LlmClient for OpenAiClient {
    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let started = Instant::now();
        let body = openai_wire::request_body(request, &self.wire_options()).to_string().into_bytes();
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
        let url = |config: OpenAiConfig| OpenAiClient::new(config).unwrap().endpoint().to_string();
        assert_eq!(url(OpenAiConfig::openai(Secret::new("k"))), "https://api.openai.com/v1/chat/completions");
        assert_eq!(
            url(OpenAiConfig::compatible("http://127.0.0.1:11434/v1/")),
            "http://127.0.0.1:11434/v1/chat/completions"
        );
        assert_eq!(
            url(OpenAiConfig::azure(
                "https://res.openai.azure.com/openai/deployments/gpt4o",
                Secret::new("k"),
                "2024-10-21"
            )),
            "https://res.openai.azure.com/openai/deployments/gpt4o/chat/completions?api-version=2024-10-21"
        );
        assert!(matches!(
            OpenAiClient::new(OpenAiConfig::compatible("localhost:11434")),
            Err(ClientBuildError::BadBaseUrl(_))
        ));
    }

    #[test]
    fn debug_shows_no_key() {
        let client = OpenAiClient::new(OpenAiConfig::openai(Secret::new("sk-live-very-secret"))).unwrap();
        let shown = format!("{client:?}");
        assert!(!shown.contains("very-secret"), "{shown}");
        assert!(OpenAiConfig::compatible("http://x").with_api_key(Secret::new("")).api_key.is_none());
        let bad = OpenAiConfig::compatible("http://x").with_api_key(Secret::new("line\nbreak"));
        assert!(matches!(OpenAiClient::new(bad), Err(ClientBuildError::InvalidApiKey(_))));
    }
}
