//! The engine: what happens between a channel handing over an event and a reply going out.
//!
//! It owns the ingest step for each channel (routing, the stale-replay policy, what is kept
//! for inspection), the outbox that hands messages to their channel in order with retries and
//! pacing, and — as they land — conversation turns and automations. It never parses wire
//! formats (that is `channels`) and never sees SQL (that is `storage`).

pub mod channel_client;
pub mod meta_channel;
pub mod outbox;
pub mod send_pacing;
pub mod whatsapp_inbound;
