//! Which LLM provider to use, and a client for it from plain settings.
//!
//! This module owns the provider names of the outside contract (`CONFAB_LLM_PROVIDER`:
//! `openai` for any OpenAI-compatible server, `anthropic`) and [`connect`], which turns a
//! provider, an optional base URL and an optional key into a ready [`LlmClient`] with default
//! timeouts and retries. Callers wanting other settings build `OpenAiConfig` or
//! `AnthropicConfig` themselves.

use crate::anthropic_client::{AnthropicClient, AnthropicConfig};
use crate::llm::{ClientBuildError, LlmClient};
use crate::openai_client::{OpenAiClient, OpenAiConfig, OPENAI_BASE_URL};
use crate::openai_wire::MaxTokensField;
use confab_domain::Secret;
use std::sync::Arc;

/// A provider's wire format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LlmProvider {
    /// OpenAI chat completions: OpenAI, Azure OpenAI, OpenRouter, Ollama, vLLM, llama.cpp…
    OpenAi,
    /// Anthropic's Messages API.
    Anthropic,
}

impl LlmProvider {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OpenAi => "openai",
            Self::Anthropic => "anthropic",
        }
    }

    /// `openai` or `anthropic`.
    pub fn parse(s: &str) -> Result<Self, ClientBuildError> {
        match s.trim() {
            "openai" => Ok(Self::OpenAi),
            "anthropic" => Ok(Self::Anthropic),
            other => Err(ClientBuildError::UnknownProvider(other.to_owned())),
        }
    }
}

/// A client for `provider` at `base_url` (the provider's own when `None`) with `api_key`.
///
/// OpenAI's own API and Anthropic need a key; other OpenAI-compatible servers may do without.
/// Requests to `api.openai.com` limit answers with `max_completion_tokens`, others with
/// `max_tokens` (what compatible servers understand).
pub fn connect(
    provider: LlmProvider,
    base_url: Option<&str>,
    api_key: Option<Secret>,
) -> Result<Arc<dyn LlmClient>, ClientBuildError> {
    let base_url = base_url.map(str::trim).filter(|u| !u.is_empty());
    let api_key = api_key.filter(|k| !k.expose().trim().is_empty());
    Ok(match provider {
        LlmProvider::OpenAi => {
            let base_url = base_url.unwrap_or(OPENAI_BASE_URL);
            let official = reqwest::Url::parse(base_url).is_ok_and(|u| u.host_str() == Some("api.openai.com"));
            if official && api_key.is_none() {
                return Err(ClientBuildError::MissingApiKey("OpenAI's API"));
            }
            let mut config = OpenAiConfig::compatible(base_url);
            config.api_key = api_key;
            if official {
                config.max_tokens_field = MaxTokensField::MaxCompletionTokens;
            }
            Arc::new(OpenAiClient::new(config)?)
        }
        LlmProvider::Anthropic => {
            let mut config = AnthropicConfig::new(api_key.ok_or(ClientBuildError::MissingApiKey("Anthropic"))?);
            if let Some(base_url) = base_url {
                config.base_url = base_url.to_owned();
            }
            Arc::new(AnthropicClient::new(config)?)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_provider_names() {
        assert_eq!(LlmProvider::parse("openai").unwrap(), LlmProvider::OpenAi);
        assert_eq!(LlmProvider::parse(" anthropic ").unwrap(), LlmProvider::Anthropic);
        assert!(matches!(LlmProvider::parse("OpenAI"), Err(ClientBuildError::UnknownProvider(_))));
        assert_eq!(LlmProvider::Anthropic.as_str(), "anthropic");
    }

    #[test]
    fn connects_with_the_right_requirements() {
        let key = || Some(Secret::new("k"));
        assert_eq!(connect(LlmProvider::OpenAi, None, key()).unwrap().provider(), "openai");
        assert!(matches!(connect(LlmProvider::OpenAi, None, None), Err(ClientBuildError::MissingApiKey(_))));
        assert!(
            connect(LlmProvider::OpenAi, Some("http://127.0.0.1:11434/v1"), None).is_ok(),
            "local servers need no key"
        );
        assert!(matches!(
            connect(LlmProvider::OpenAi, Some("http://127.0.0.1:11434/v1"), Some(Secret::new(" "))).map(|_| ()),
            Ok(())
        ));
        assert_eq!(connect(LlmProvider::Anthropic, None, key()).unwrap().provider(), "anthropic");
        assert!(matches!(connect(LlmProvider::Anthropic, None, None), Err(ClientBuildError::MissingApiKey(_))));
        assert!(matches!(connect(LlmProvider::Anthropic, Some("nope"), key()), Err(ClientBuildError::BadBaseUrl(_))));
    }
}
