//! Trying a chat call again: how often, how long to wait, and when to stop.
//!
//! This module owns [`RetryPolicy`] and the attempt loop both HTTP clients share. An attempt
//! that fails with a retryable [`LlmError`] (timeouts, refused connections, 429, 5xx, 529) is
//! sent again after a wait: the provider's `Retry-After` when it gave one, otherwise an
//! exponential backoff (`initial_backoff`, doubled each time, capped at `max_backoff`, with
//! "equal jitter": a random wait between half and all of that). The loop stops after
//! `max_attempts`, on a failure that is not retryable, or when the provider asks for a longer
//! wait than `max_retry_after` (the error then says how long, so the caller can reschedule
//! the turn instead of holding its lease).
//!
//! Retrying a chat call is safe: providers bill nothing for a failed request and a chat
//! completion changes nothing on their side. A timed-out attempt may have been billed by the
//! provider without our knowing; that is unknowable here.

use super::error::LlmError;
use super::response::{BilledAttempt, ChatResponse};
use std::future::Future;
use std::time::Duration;

/// How a client retries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Requests per call, the first included (1 = no retries). At least 1.
    pub max_attempts: u32,
    /// The wait before the first retry, without a `Retry-After`.
    pub initial_backoff: Duration,
    /// The longest backoff wait.
    pub max_backoff: Duration,
    /// The longest `Retry-After` honoured; a provider asking for more ends the call.
    pub max_retry_after: Duration,
    /// Randomise backoff waits (between half and all of the computed wait), so many
    /// conversations hitting one limit do not retry in lockstep.
    pub jitter: bool,
}

impl Default for RetryPolicy {
    /// 3 attempts; backoff 0.5 s, 1 s (at most 8 s); `Retry-After` honoured up to 30 s.
    fn default() -> Self {
        Self {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(30),
            jitter: true,
        }
    }
}

impl RetryPolicy {
    /// One attempt, no retries.
    pub fn no_retries() -> Self {
        Self { max_attempts: 1, ..Self::default() }
    }

    /// The backoff before retry number `retry` (1 for the first retry), before jitter.
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.saturating_sub(1));
        self.initial_backoff.saturating_mul(factor).min(self.max_backoff)
    }

    /// How long to wait after `error` ended attempt number `attempt`, or `None` to stop.
    pub fn wait_after(&self, attempt: u32, error: &LlmError) -> Option<Duration> {
        if !error.is_retryable() || attempt >= self.max_attempts.max(1) {
            return None;
        }
        match error.retry_after() {
            Some(asked) if asked > self.max_retry_after => None,
            Some(asked) => Some(asked),
            None => {
                let backoff = self.backoff(attempt);
                Some(if self.jitter { backoff / 2 + backoff.div_f64(2.0).mul_f64(random_fraction()) } else { backoff })
            }
        }
    }
}

/// Runs `attempt(1)`, `attempt(2)`, … as `policy` allows. The answer carries the tokens of
/// earlier billed attempts in `discarded`; an error carries every attempt's count and billing.
pub(crate) async fn call_with_retries<F, Fut>(policy: &RetryPolicy, mut attempt: F) -> Result<ChatResponse, LlmError>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<ChatResponse, LlmError>>,
{
    let mut earlier: Vec<BilledAttempt> = Vec::new();
    let mut number = 0;
    loop {
        number += 1;
        match attempt(number).await {
            Ok(mut response) => {
                earlier.append(&mut response.discarded);
                response.discarded = earlier;
                return Ok(response);
            }
            Err(error) => {
                let Some(wait) = policy.wait_after(number, &error) else {
                    return Err(error.with_attempts(number).with_earlier_billed(earlier));
                };
                tracing::warn!(
                    provider = error.provider(),
                    attempt = number,
                    kind = error.kind().as_str(),
                    http_status = error.http_status(),
                    wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                    "llm call failed, retrying: {}",
                    error.message()
                );
                earlier.extend(error.billed().iter().cloned());
                tokio::time::sleep(wait).await;
            }
        }
    }
}

/// A number in `[0, 1)` that differs from call to call (std's per-instance random hash keys);
/// good enough for jitter, not for anything secret.
fn random_fraction() -> f64 {
    use std::hash::{BuildHasher, Hasher, RandomState};
    let mut hasher = RandomState::new().build_hasher();
    hasher
        .write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::error::LlmErrorKind;
    use confab_domain::Usage;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(300),
            max_retry_after: Duration::from_secs(10),
            jitter: false,
        }
    }

    fn server_error() -> LlmError {
        LlmError::new("openai", LlmErrorKind::Server, "boom").with_http_status(500)
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = policy();
        assert_eq!(p.backoff(1), Duration::from_millis(100));
        assert_eq!(p.backoff(2), Duration::from_millis(200));
        assert_eq!(p.backoff(3), Duration::from_millis(300));
        assert_eq!(p.backoff(40), Duration::from_millis(300));
    }

    #[test]
    fn waits_follow_hints_and_limits() {
        let p = policy();
        assert_eq!(p.wait_after(1, &server_error()), Some(Duration::from_millis(100)));
        assert_eq!(p.wait_after(4, &server_error()), None, "attempts spent");
        let hinted = server_error().with_retry_after(Some(Duration::from_secs(2)));
        assert_eq!(p.wait_after(1, &hinted), Some(Duration::from_secs(2)));
        let too_long = server_error().with_retry_after(Some(Duration::from_secs(11)));
        assert_eq!(p.wait_after(1, &too_long), None);
        let final_error = LlmError::new("openai", LlmErrorKind::BadRequest, "no");
        assert_eq!(p.wait_after(1, &final_error), None);
        assert_eq!(RetryPolicy::no_retries().wait_after(1, &server_error()), None);
        let zero = RetryPolicy { max_attempts: 0, ..policy() };
        assert_eq!(zero.wait_after(1, &server_error()), None);
    }

    #[test]
    fn jitter_stays_between_half_and_all() {
        let p = RetryPolicy { jitter: true, ..policy() };
        for _ in 0..200 {
            let wait = p.wait_after(2, &server_error()).unwrap();
            assert!((Duration::from_millis(100)..=Duration::from_millis(200)).contains(&wait), "{wait:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retries_until_success_and_counts_attempts() {
        let calls = AtomicU32::new(0);
        let started = tokio::time::Instant::now();
        let response = call_with_retries(&policy(), |n| {
            calls.fetch_add(1, Ordering::SeqCst);
            async move {
                if n < 3 {
                    Err(server_error())
                } else {
                    Ok(ChatResponse::default())
                }
            }
        })
        .await
        .unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        assert_eq!(started.elapsed(), Duration::from_millis(300), "100 ms then 200 ms");
        assert!(response.discarded.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_with_the_attempt_count_and_every_billed_attempt() {
        let usage = Usage { input_tokens: 10, output_tokens: 2, cached_input_tokens: 0 };
        let billed = BilledAttempt { model: "m".into(), usage };
        let error = call_with_retries(&policy(), |n| {
            let billed = billed.clone();
            async move {
                let e = server_error().with_billed([billed]);
                Err(if n == 2 { e.with_retryable(false) } else { e })
            }
        })
        .await
        .unwrap_err();
        assert_eq!(error.attempts(), 2);
        assert_eq!(error.billed().len(), 2);
        assert_eq!(error.http_status(), Some(500));
        assert!(!error.is_retryable());
    }
}
