//! Meta's WhatsApp Cloud API. Inbound: webhook signatures, the verification handshake, and
//! webhook payloads turned into messages, statuses, echoes and other events. Outbound: the
//! messages we send, the Graph API client, and what its errors mean.
//!
//! The server's webhook handler does, in order:
//! 1. `GET`: [`verify_handshake`] and echo the challenge (or 403).
//! 2. `POST`: [`verify_signature`] on the **raw** body bytes (never a re-serialised body),
//!    then [`parse_webhook`], then hand the [`WebhookBatch`] to ingest and answer 200.
//!
//! The inbound side is pure: no I/O, no clock, no tokio. One concept per file:
//! `signature` (HMAC header), `handshake` (GET challenge), `webhook` (envelope walk and batch),
//! `inbound_message` / `status_update` / `echo_message` (one item each), `template_status`
//! (a template's review result), `message_content`
//! (kind, content line and payload per message type), `sender_profile` (wa_id / BSUID /
//! profile matching), `routing` (metadata), `provider_error` (Meta error objects),
//! `json_fields` (tolerant field readers).
//!
//! Outbound, the outbox does, per message:
//! 1. [`OutboundMessage::validate`] when queueing, so a bad message is refused early and clearly;
//!    long text first goes through [`split_for_whatsapp`] (4096 characters per message).
//! 2. [`GraphClient::send`] with the sender's phone-number id and token: one HTTP call, no
//!    retries, giving a [`SendReceipt`] (the wamid status webhooks will name) or a [`GraphError`].
//! 3. On error, [`classify`]: [`ErrorClass::Retry`] (maybe after a wait Meta asked for) or
//!    [`ErrorClass::Fail`] with a [`FailReason`]; the message's error is `DeliveryError::from`.
//!
//! Outbound files: `outbound_message` (what we send and its exact JSON, Meta's limits),
//! `split_text` (long replies into parts), `graph_client` (the HTTP calls: send, mark read and
//! typing indicator), `graph_error` (Meta's error body, headers and transport failures),
//! `error_class` (retry or fail, and why). Only `graph_client` does I/O.

mod echo_message;
mod error_class;
mod graph_client;
mod graph_error;
mod handshake;
mod inbound_message;
mod json_fields;
mod message_content;
mod outbound_message;
mod provider_error;
mod routing;
mod sender_profile;
mod signature;
mod split_text;
mod status_update;
mod template_status;
mod webhook;

pub use echo_message::EchoMessage;
pub use error_class::{classify, ErrorClass, FailReason, PAIR_RATE_LIMIT_WAIT};
pub use graph_client::{mark_read_body, GraphClient, GraphClientBuildError, SendReceipt};
pub use graph_error::{retry_after_from_headers, GraphError, TransportFailure};
pub use handshake::{verify_handshake, HandshakeError, HandshakeQuery};
pub use inbound_message::InboundWhatsappMessage;
pub use outbound_message::{ListRow, ListSection, MediaKind, MediaSource, OutboundMessage, ReplyButton};
pub use provider_error::{delivery_error, delivery_errors};
pub use signature::{sign, verify_signature, SignatureError, SIGNATURE_HEADER};
pub use split_text::{split_for_whatsapp, split_text, WHATSAPP_TEXT_LIMIT};
pub use status_update::StatusUpdate;
pub use template_status::{TemplateStatusUpdate, TEMPLATE_STATUS_FIELD};
pub use webhook::{parse_webhook, ChangeError, OtherEvent, Unparsed, WebhookBatch, WebhookParseError, WHATSAPP_OBJECT};
