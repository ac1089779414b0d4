//! What a language model answered, in no provider's terms.
//!
//! This module owns the provider-neutral answer: text and/or tool calls, why generation
//! stopped, how many tokens it took, which model produced it and how long it took. Tokens are
//! reported for every billed attempt (DESIGN §2: "money and tokens are recorded for every LLM
//! call, retries included"): the answer's own in [`ChatResponse::usage`], and those of earlier
//! attempts whose output could not be used in [`ChatResponse::discarded`].
//!
//! It does not price tokens (that is `pricing`) or run tools.

use super::request::ToolCallRequest;
use confab_domain::Usage;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A model's answer to a [`super::ChatRequest`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChatResponse {
    /// The text the model wrote, if any (`None` when it only called tools).
    pub content: Option<String>,
    /// The tools the model wants called, in order; several means parallel calls.
    pub tool_calls: Vec<ToolCallRequest>,
    /// Tokens this answer took (cached input tokens are a subset of the input tokens).
    pub usage: Usage,
    /// The model that answered, as the provider names it (often a dated version of the model
    /// asked for, e.g. `gpt-4o-mini-2024-07-18`; after a fallback, the fallback's model).
    pub model: String,
    pub finish: FinishReason,
    /// Wall time of the whole call: every attempt and every wait between them.
    pub latency: Duration,
    /// Earlier attempts of this call that were billed but whose output was not used (e.g. the
    /// primary model answered with unusable tool arguments, then the fallback answered). Record
    /// their cost too. Usually empty.
    pub discarded: Vec<BilledAttempt>,
}

impl ChatResponse {
    /// Every billed attempt of this call: the discarded ones, then this answer. Price each with
    /// its own model.
    pub fn billed(&self) -> Vec<BilledAttempt> {
        let mut all = self.discarded.clone();
        all.push(BilledAttempt { model: self.model.clone(), usage: self.usage });
        all
    }
}

/// Tokens one attempt was billed for, and the model that billed them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BilledAttempt {
    pub model: String,
    pub usage: Usage,
}

/// Why the model stopped writing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// A natural end (OpenAI `stop`; Anthropic `end_turn`, `stop_sequence`).
    #[default]
    Stop,
    /// The token limit cut the answer short (`length`; `max_tokens`).
    Length,
    /// The model wants tools called (`tool_calls`; `tool_use`).
    ToolCalls,
    /// The provider withheld or the model refused content (`content_filter`; `refusal`).
    ContentFilter,
    /// Anything else, as the provider spelled it (e.g. Anthropic's `pause_turn`).
    Other(String),
}

impl FinishReason {
    pub fn as_str(&self) -> &str {
        match self {
            Self::Stop => "stop",
            Self::Length => "length",
            Self::ToolCalls => "tool_calls",
            Self::ContentFilter => "content_filter",
            Self::Other(other) => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn billed_lists_discarded_attempts_then_the_answer() {
        let usage = |n| Usage { input_tokens: n, output_tokens: 1, cached_input_tokens: 0 };
        let response = ChatResponse {
            model: "b".into(),
            usage: usage(20),
            discarded: vec![BilledAttempt { model: "a".into(), usage: usage(10) }],
            ..ChatResponse::default()
        };
        let billed = response.billed();
        assert_eq!(billed.len(), 2);
        assert_eq!((billed[0].model.as_str(), billed[0].usage.input_tokens), ("a", 10));
        assert_eq!((billed[1].model.as_str(), billed[1].usage.input_tokens), ("b", 20));
        assert_eq!(FinishReason::Other("pause_turn".into()).as_str(), "pause_turn");
    }
}
