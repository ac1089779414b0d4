//! One turn of an assistant (DESIGN §3): prompt, retrieval, the LLM and its tool loop, usage
//! and cost. It returns what happened and commits nothing; the engine records it.
//!
//! So far this crate holds the LLM layer:
//! - [`llm`]: the provider-neutral request, response, error and [`llm::LlmClient`] trait, and
//!   the retry policy the HTTP clients share;
//! - [`openai_client`] / [`openai_wire`]: OpenAI-compatible chat completions (OpenAI, Azure
//!   OpenAI, OpenRouter, Ollama, vLLM, llama.cpp);
//! - [`anthropic_client`] / [`anthropic_wire`]: Anthropic's Messages API;
//! - [`fallback`]: a second client for when the first fails;
//! - [`provider`]: a client from the `CONFAB_LLM_*` settings;
//! - [`pricing`]: what tokens and channel messages cost, in micro-USD.
//!
//! The wire clients are our own thin code rather than an SDK crate because confab needs
//! exactly one non-streaming call per provider, exact control of retries and of what is
//! billed per attempt, and configurable base URLs for the fakes in `confab-sim`.

pub mod anthropic_client;
pub mod anthropic_wire;
pub mod fallback;
pub mod llm;
pub mod openai_client;
pub mod openai_wire;
pub mod pricing;
pub mod provider;

pub use anthropic_client::{AnthropicClient, AnthropicConfig};
pub use fallback::WithFallback;
pub use llm::{
    BilledAttempt, ChatMessage, ChatRequest, ChatResponse, ClientBuildError, FinishReason, LlmClient, LlmError,
    LlmErrorKind, RetryPolicy, ToolCallRequest, ToolChoice, ToolSpec,
};
pub use openai_client::{OpenAiAuth, OpenAiClient, OpenAiConfig};
pub use pricing::{ChannelFees, ChannelMessage, ModelPrice, PriceTable};
pub use provider::{connect, LlmProvider};
