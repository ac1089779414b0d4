//! The end of a chat call: its latency stamped on the answer, and one log line.
//!
//! This module owns what every client does when a call (all its attempts) is over. The log
//! line names the provider, the model, the outcome, tokens and latency; never prompt or answer
//! text, which may hold customers' personal data.

use super::error::LlmError;
use super::response::ChatResponse;
use tokio::time::Instant;

/// Stamps `result` with the time since `started` and logs it.
pub(crate) fn finish_call(
    provider: &'static str,
    requested_model: &str,
    started: Instant,
    result: Result<ChatResponse, LlmError>,
) -> Result<ChatResponse, LlmError> {
    let latency = started.elapsed();
    let latency_ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
    match result {
        Ok(mut response) => {
            response.latency = latency;
            tracing::debug!(
                provider,
                model = %response.model,
                finish = response.finish.as_str(),
                tool_calls = response.tool_calls.len(),
                input_tokens = response.usage.input_tokens,
                cached_input_tokens = response.usage.cached_input_tokens,
                output_tokens = response.usage.output_tokens,
                latency_ms,
                "llm call answered"
            );
            Ok(response)
        }
        Err(error) => {
            tracing::warn!(
                provider,
                model = requested_model,
                kind = error.kind().as_str(),
                http_status = error.http_status(),
                attempts = error.attempts(),
                retryable = error.is_retryable(),
                request_id = error.request_id(),
                latency_ms,
                "llm call failed: {}",
                error.message()
            );
            Err(error)
        }
    }
}
