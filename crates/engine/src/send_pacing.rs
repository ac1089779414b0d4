//! Per-sender pacing: a WhatsApp number may send only so many messages a second (Meta's
//! default is 80/s). Each send reserves the next free slot of its sender; the caller waits
//! until then. Pure arithmetic over `tokio::time::Instant`, so tests drive it with paused time.

use confab_domain::SenderId;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

pub struct SendPacing {
    interval: Duration,
    /// Up to this many sends may go at once before pacing applies.
    burst: u32,
    next_free: Mutex<HashMap<SenderId, Instant>>,
}

impl SendPacing {
    pub fn per_second(rate: u32) -> Self {
        let rate = rate.max(1);
        Self { interval: Duration::from_secs(1) / rate, burst: rate, next_free: Mutex::new(HashMap::new()) }
    }

    /// Reserves the sender's next slot at or after `now` and returns it.
    pub fn reserve(&self, sender: SenderId, now: Instant) -> Instant {
        let mut next_free = self.next_free.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let earliest = now.checked_sub(self.interval * (self.burst - 1)).unwrap_or(now);
        let slot = next_free.get(&sender).copied().map_or(earliest, |t| t.max(earliest));
        next_free.insert(sender, slot + self.interval);
        slot.max(now)
    }

    /// Waits for the sender's next slot.
    pub async fn wait_turn(&self, sender: SenderId) {
        let slot = self.reserve(sender, Instant::now());
        tokio::time::sleep_until(slot).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_burst_goes_at_once_then_sends_are_spaced() {
        let pacing = SendPacing::per_second(4);
        let (a, b) = (SenderId::new(), SenderId::new());
        let now = Instant::now();
        let slots: Vec<_> = (0..6).map(|_| pacing.reserve(a, now)).collect();
        assert!(slots[..4].iter().all(|s| *s == now), "the first second's worth goes at once");
        assert_eq!(slots[4], now + Duration::from_millis(250));
        assert_eq!(slots[5], now + Duration::from_millis(500));
        assert_eq!(pacing.reserve(b, now), now, "senders are paced separately");
        // after a quiet spell the burst is available again
        let later = now + Duration::from_secs(10);
        assert_eq!(pacing.reserve(a, later), later);
    }
}
