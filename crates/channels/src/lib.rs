//! The edges of confab: provider wire formats in, domain events out (DESIGN §2–3).
//!
//! This crate owns everything that knows how a provider spells things, for Meta's WhatsApp
//! Cloud API ([`whatsapp`]) and Twilio ([`twilio`]): webhook signatures and handshakes, webhook
//! payload shapes, the outbound API clients (Graph API, Twilio Messages API) with their request
//! bodies, and the classification of their errors into retry or fail. It turns raw request
//! bytes into domain values (`confab_domain` types plus the small provider-shaped event structs
//! defined here), and outbound messages into provider calls, and nothing more.
//!
//! It must not store anything, route to workspaces, or decide whether to answer or retry; the
//! inbound side does no I/O: parsing is pure and synchronous so the webhook handler stays fast
//! and the parsers can be tested and fuzzed without a runtime. The clients make one call each
//! and never retry on their own (the engine's outbox decides).

pub mod storable_text;
pub mod twilio;
pub mod whatsapp;
