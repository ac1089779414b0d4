//! Honest fakes for tests, demos and benchmarks. Each speaks its service's real wire format:
//! [`meta_webhook`] and [`twilio_webhook`] build and sign the webhook bodies Meta and Twilio
//! post to us; [`fake_graph_api`] and [`fake_twilio_api`] serve the send APIs confab calls and
//! post status webhooks back; [`fake_llm`] is a scripted LLM speaking both the OpenAI and the
//! Anthropic wire formats; [`fake_upstream`] is a third-party API
//! for HTTP tools; [`load`] is the load generator behind `confab bench`.
//!
//! Depends only on `domain` and `channels`, never on the server, so tests and the load
//! generator drive confab from the outside exactly as the real services do.

pub mod ascii_json;
pub mod fake_graph_api;
pub mod fake_llm;
pub mod fake_twilio_api;
pub mod fake_upstream;
pub mod load;
pub mod meta_webhook;
pub mod twilio_webhook;
