//! The engine: what happens between a channel handing over an event and a reply going out.
//!
//! It owns the ingest step for each channel (routing, the stale-replay policy, what is kept
//! for inspection), and — as they land — conversation leases, turns, the outbox and
//! automations. It never parses wire formats (that is `channels`) and never sees SQL (that is
//! `storage`).

pub mod whatsapp_inbound;
