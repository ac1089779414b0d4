//! The login rate limit: at most N attempts a minute per (client address, e-mail), counted in
//! this process's memory in fixed one-minute windows. It slows down password guessing against
//! one account; the 429 page tells the person how long to wait.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(60);
/// Above this many tracked keys, finished windows are dropped, so the map stays small.
const PRUNE_ABOVE: usize = 10_000;

#[derive(Debug)]
pub struct LoginThrottle {
    per_minute: u32,
    attempts: Mutex<HashMap<(IpAddr, String), (Instant, u32)>>,
}

impl LoginThrottle {
    pub fn per_minute(per_minute: u32) -> Self {
        Self { per_minute, attempts: Mutex::new(HashMap::new()) }
    }

    /// Counts one attempt at `now`; when over the limit, how long until the next is allowed.
    pub fn attempt(&self, ip: IpAddr, email: &str, now: Instant) -> Result<(), Duration> {
        // a poisoned lock only means another request panicked mid-update; the map is still usable
        let mut attempts = self.attempts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if attempts.len() > PRUNE_ABOVE {
            attempts.retain(|_, (started, _)| now.saturating_duration_since(*started) < WINDOW);
        }
        let entry = attempts.entry((ip, email.trim().to_lowercase())).or_insert((now, 0));
        if now.saturating_duration_since(entry.0) >= WINDOW {
            *entry = (now, 0);
        }
        if entry.1 >= self.per_minute {
            return Err(WINDOW.saturating_sub(now.saturating_duration_since(entry.0)));
        }
        entry.1 += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_is_per_address_and_email_and_resets_each_minute() {
        let throttle = LoginThrottle::per_minute(2);
        let ip: IpAddr = [127, 0, 0, 1].into();
        let t0 = Instant::now();
        assert!(throttle.attempt(ip, "a@example.com", t0).is_ok());
        assert!(throttle.attempt(ip, "A@example.com ", t0).is_ok());
        let wait = throttle.attempt(ip, "a@example.com", t0 + Duration::from_secs(10)).unwrap_err();
        assert_eq!(wait, Duration::from_secs(50));
        assert!(throttle.attempt(ip, "b@example.com", t0).is_ok(), "another e-mail");
        assert!(throttle.attempt([10, 0, 0, 1].into(), "a@example.com", t0).is_ok(), "another address");
        assert!(throttle.attempt(ip, "a@example.com", t0 + Duration::from_secs(61)).is_ok(), "a new minute");
    }
}
