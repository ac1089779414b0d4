//! The edges of confab: provider wire formats in, domain events out (DESIGN §2–3).
//!
//! This crate owns everything that knows how a provider spells things: webhook signatures and
//! handshakes, webhook payload shapes, and (later) the outbound API clients and their error
//! classification. It turns raw request bytes into domain values (`confab_domain` types plus
//! the small provider-shaped event structs defined here) and nothing more.
//!
//! It must not store anything, route to workspaces, decide whether to answer, or do I/O on the
//! inbound path: parsing is pure and synchronous so the webhook handler stays fast and the
//! parsers can be tested and fuzzed without a runtime.

pub mod twilio;
pub mod whatsapp;
