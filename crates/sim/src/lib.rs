//! Honest fakes for tests, demos and benchmarks. Each speaks its service's real wire format:
//! [`meta_webhook`] builds and signs the webhook bodies Meta posts to us; [`fake_graph_api`]
//! serves the Graph API `/messages` edge confab sends through, and posts status webhooks back.
//!
//! Depends only on `domain` and `channels`, never on the server, so tests and the load
//! generator drive confab from the outside exactly as the real services do.

pub mod ascii_json;
pub mod fake_graph_api;
pub mod fake_llm;
pub mod fake_twilio_api;
pub mod load;
pub mod meta_webhook;
pub mod twilio_webhook;
