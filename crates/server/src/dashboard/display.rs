//! How values read on the dashboard: times (UTC), money, type badges, delivery ticks,
//! customers and the WhatsApp window.

use confab_domain::{Conversation, ConversationType, Customer, DeliveryStatus, MicroUsd, WindowState};
use time::OffsetDateTime;

/// `2026-11-25 14:03`
pub fn datetime(t: OffsetDateTime) -> String {
    format!("{} {:02}:{:02}", t.date(), t.hour(), t.minute())
}

/// `14:03`
pub fn clock(t: OffsetDateTime) -> String {
    format!("{:02}:{:02}", t.hour(), t.minute())
}

/// `Wednesday 25 November 2026`
pub fn day(t: OffsetDateTime) -> String {
    format!("{} {} {} {}", t.weekday(), t.day(), t.month(), t.year())
}

/// `$0.0123` (cents and below shown to four places; whole micro-dollars in the title).
pub fn money(amount: MicroUsd) -> String {
    let sign = if amount.0 < 0 { "-" } else { "" };
    let abs = amount.0.unsigned_abs();
    format!("{sign}${}.{:04}", abs / 1_000_000, (abs % 1_000_000) / 100)
}

/// The badge class and label of a conversation type.
pub fn badge(kind: ConversationType) -> (&'static str, &'static str) {
    match kind {
        ConversationType::Whatsapp => ("badge-whatsapp", "WhatsApp"),
        ConversationType::Widget => ("badge-widget", "Web Widget"),
        ConversationType::Test => ("badge-test", "Test"),
        ConversationType::Api => ("badge-api", "API"),
    }
}

/// The delivery tick of an outbound message and its meaning.
pub fn tick(status: DeliveryStatus) -> (&'static str, &'static str) {
    match status {
        DeliveryStatus::Failed => ("✕", "failed"),
        DeliveryStatus::Read => ("✓✓", "read"),
        DeliveryStatus::Delivered => ("✓✓", "delivered"),
        DeliveryStatus::Sent => ("✓", "sent"),
        _ => ("◷", status.as_str()),
    }
}

/// The customer's name, phone or identifier, whichever is known (name first).
pub fn customer(customer: Option<&Customer>) -> String {
    let Some(c) = customer else { return "unknown customer".into() };
    let handle = c
        .phone
        .as_ref()
        .map(|p| p.as_str().to_string())
        .or_else(|| c.external_identifier.clone())
        .or_else(|| c.business_scoped_user_id.clone());
    match (&c.name, handle) {
        (Some(name), Some(handle)) => format!("{name} · {handle}"),
        (Some(name), None) => name.clone(),
        (None, Some(handle)) => handle,
        (None, None) => "anonymous".into(),
    }
}

/// The WhatsApp window in words, and whether it is open; `None` for other channels.
pub fn window(conversation: &Conversation, now: OffsetDateTime) -> Option<(bool, String)> {
    if conversation.kind != ConversationType::Whatsapp {
        return None;
    }
    Some(match conversation.window().state(now) {
        WindowState::Open { expires_at } => (true, format!("open, {} left", remaining(expires_at - now))),
        WindowState::Closed { expired_at: Some(at) } => (false, format!("closed since {}", datetime(at))),
        WindowState::Closed { expired_at: None } => (false, "closed".into()),
    })
}

/// `3 h 12 min`, `45 min`
pub fn remaining(left: time::Duration) -> String {
    let minutes = left.whole_minutes().max(0);
    if minutes >= 60 {
        format!("{} h {} min", minutes / 60, minutes % 60)
    } else {
        format!("{minutes} min")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_and_durations_read_well() {
        assert_eq!(money(MicroUsd(12_345)), "$0.0123");
        assert_eq!(money(MicroUsd(2_500_000)), "$2.5000");
        assert_eq!(remaining(time::Duration::minutes(192)), "3 h 12 min");
        assert_eq!(remaining(time::Duration::minutes(45)), "45 min");
        assert_eq!(badge(ConversationType::Whatsapp).1, "WhatsApp");
    }
}
