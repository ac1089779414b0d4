//! The per-API-key rate limit of `/api/v1`: a token bucket per key, in this process's memory.
//! Each key may burst up to `api_rate_limit_per_minute` requests and then goes on at that rate;
//! over it, the answer is 429 `rate_limited` with `Retry-After`.
//!
//! The buckets are not shared between processes: with several `confab` processes behind a
//! load balancer, each enforces the limit on its own share of the traffic, so a key may reach
//! up to N times the setting overall. Requests without a valid key are not counted here; the
//! handler's [`ApiKeyAuth`] answers them 401.

use super::{ApiError, ApiKeyAuth};
use crate::state::AppState;
use axum::extract::{FromRequestParts, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use confab_domain::ApiKeyId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Token buckets by API key.
#[derive(Debug)]
pub struct RateLimiter {
    /// Bucket size, and the tokens added per minute; 0 turns the limit off.
    per_minute: u32,
    buckets: Mutex<HashMap<ApiKeyId, Bucket>>,
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    refilled_at: Instant,
}

impl RateLimiter {
    pub fn per_minute(per_minute: u32) -> Self {
        Self { per_minute, buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes one token of `key`'s bucket at `now`; when there is none, how long until there is.
    pub fn check(&self, key: ApiKeyId, now: Instant) -> Result<(), Duration> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let capacity = f64::from(self.per_minute);
        let per_second = capacity / 60.0;
        // a poisoned lock only means another request panicked mid-update; the map is still usable
        let mut buckets = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let bucket = buckets.entry(key).or_insert(Bucket { tokens: capacity, refilled_at: now });
        let elapsed = now.saturating_duration_since(bucket.refilled_at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_second).min(capacity);
        bucket.refilled_at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / per_second))
        }
    }
}

/// Middleware for the `/api/v1` routes: authenticates the key (leaving it in the request for
/// the handler's extractor, so the key is looked up once) and charges its bucket.
pub async fn enforce(
    State((state, limiter)): State<(AppState, Arc<RateLimiter>)>,
    request: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = request.into_parts();
    if let Ok(auth) = ApiKeyAuth::from_request_parts(&mut parts, &state).await {
        if let Err(wait) = limiter.check(auth.key.id, Instant::now()) {
            let retry_after_secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            return ApiError::RateLimited { retry_after_secs: retry_after_secs.max(1) }.into_response();
        }
        parts.extensions.insert(auth);
    }
    next.run(Request::from_parts(parts, body)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_empties_refills_at_the_rate_and_is_per_key() {
        let limiter = RateLimiter::per_minute(3);
        let (a, b) = (ApiKeyId::new(), ApiKeyId::new());
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check(a, t0).is_ok());
        }
        let wait = limiter.check(a, t0).unwrap_err();
        assert_eq!(wait.as_secs(), 20, "one token every 20 s");
        assert!(limiter.check(b, t0).is_ok(), "another key has its own bucket");
        assert!(limiter.check(a, t0 + Duration::from_secs(19)).is_err());
        assert!(limiter.check(a, t0 + Duration::from_secs(21)).is_ok());
        assert!(limiter.check(a, t0 + Duration::from_secs(21)).is_err());
    }

    #[test]
    fn zero_is_off() {
        let limiter = RateLimiter::per_minute(0);
        let key = ApiKeyId::new();
        assert!((0..10_000).all(|_| limiter.check(key, Instant::now()).is_ok()));
    }
}
