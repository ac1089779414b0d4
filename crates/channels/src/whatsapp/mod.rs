//! Meta's WhatsApp Cloud API, inbound side: webhook signatures, the verification handshake,
//! and webhook payloads turned into messages, statuses, echoes and other events.
//!
//! The server's webhook handler does, in order:
//! 1. `GET`: [`verify_handshake`] and echo the challenge (or 403).
//! 2. `POST`: [`verify_signature`] on the **raw** body bytes (never a re-serialised body),
//!    then [`parse_webhook`], then hand the [`WebhookBatch`] to ingest and answer 200.
//!
//! Everything here is pure: no I/O, no clock, no tokio. One concept per file:
//! `signature` (HMAC header), `handshake` (GET challenge), `webhook` (envelope walk and batch),
//! `inbound_message` / `status_update` / `echo_message` (one item each), `message_content`
//! (kind, content line and payload per message type), `sender_profile` (wa_id / BSUID /
//! profile matching), `routing` (metadata), `provider_error` (Meta error objects),
//! `json_fields` (tolerant field readers).
//!
//! The outbound side (Graph API client, error classification) will live beside these files.

mod echo_message;
mod handshake;
mod inbound_message;
mod json_fields;
mod message_content;
mod provider_error;
mod routing;
mod sender_profile;
mod signature;
mod status_update;
mod webhook;

pub use echo_message::EchoMessage;
pub use handshake::{verify_handshake, HandshakeError, HandshakeQuery};
pub use inbound_message::InboundWhatsappMessage;
pub use provider_error::{delivery_error, delivery_errors};
pub use signature::{sign, verify_signature, SignatureError, SIGNATURE_HEADER};
pub use status_update::StatusUpdate;
pub use webhook::{parse_webhook, ChangeError, OtherEvent, Unparsed, WebhookBatch, WebhookParseError, WHATSAPP_OBJECT};
