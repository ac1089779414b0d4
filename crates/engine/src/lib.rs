//! The engine: what happens between a channel handing over an event and a reply going out.
//!
//! It owns the ingest step for each channel (routing, the stale-replay policy, what is kept
//! for inspection), the turn worker that answers due conversations under a fenced lease, the
//! outbox that hands messages to their channel in order with retries and pacing, and — as they
//! land — automations. It never parses wire formats (that is `channels`) and never sees SQL
//! (that is `storage`).

pub mod channel_client;
pub mod chunking;
pub mod clock;
pub mod delivery_events;
pub mod extraction;
pub mod group_commit;
pub mod inactivity;
pub mod ingest_batcher;
pub mod llm_responder;
pub mod llm_routes;
pub mod meta_channel;
pub mod metrics_compaction;
pub mod offline_responder;
pub mod outbox;
pub mod prompt;
pub mod responder;
pub mod retriever;
pub mod send_pacing;
pub mod statistics_refresh;
pub mod tools;
pub mod turn_worker;
pub mod twilio_channel;
pub mod twilio_inbound;
pub mod whatsapp_inbound;
pub mod workspace_prices;
