//! Twilio's WhatsApp channel: form-encoded webhooks in, the Messages API out.
//!
//! Inbound, the server's webhook handlers do, in order:
//! 1. [`FormBody::parse`] the raw `application/x-www-form-urlencoded` body;
//! 2. [`check_header`] (a request without a well-formed `X-Twilio-Signature` is not Twilio's);
//! 3. [`classify_form`] and [`business_number`]: a customer message is routed by `To`, a
//!    status callback by `From` — the number of the sender whose auth token signs it;
//! 4. [`verify_signature`] with that auth token over the URL Twilio was configured with
//!    (`CONFAB_PUBLIC_URL` + path and query) and the form's parameters;
//! 5. [`TwilioInboundMessage::parse`] or [`TwilioStatusCallback::parse`], then store, then
//!    answer [`EMPTY_TWIML`] with content type [`TWIML_CONTENT_TYPE`].
//!
//! Outbound, [`MessagesClient::send`] posts an [`OutgoingMessage`] (text, media, or a Content
//! template with `ContentSid` + `ContentVariables`) to
//! `/2010-04-01/Accounts/{AccountSid}/Messages.json` with the sender's
//! [`TwilioCredentials`]; a failure is a [`TwilioApiError`] that [`classify`] turns into an
//! [`ErrorClass`] (retry, and when; or fail, and why).
//!
//! Everything but the client is pure: no I/O, no clock, no tokio. One concept per file:
//! `form_body` (the decoded form), `signature` (`X-Twilio-Signature`), `channel_address`
//! (`whatsapp:+E164` and `whatsapp:CC.id` addresses), `routing` (message or status, and whose
//! number), `inbound_form` (one customer message's envelope), `message_content` (its kind,
//! content line and payload), `status_callback` (one delivery status), `credentials`
//! (`AccountSid:AuthToken`), `outbound_message` (what we send and its form fields),
//! `api_error` (a failed API call), `error_class` (what to do about it), `messages_client`
//! (the HTTP call), `twiml` (the answer to a webhook).
//!
//! Nothing here logs message text, phone numbers or secrets.

mod api_error;
mod channel_address;
mod credentials;
mod error_class;
mod form_body;
mod inbound_form;
mod message_content;
mod messages_client;
mod outbound_message;
mod routing;
mod signature;
mod status_callback;
mod twiml;

pub use api_error::{ApiErrorKind, TransportFailure, TwilioApiError};
pub use channel_address::{parse_address, whatsapp_address, ChannelAddress, WHATSAPP_PREFIX};
pub use credentials::TwilioCredentials;
pub use error_class::{classify, classify_response, describe_code, ErrorClass, FailReason, DAILY_LIMIT_WAIT};
pub use form_body::FormBody;
pub use inbound_form::{InboundFormError, InboundMedia, TwilioInboundMessage};
pub use messages_client::{MessageResource, MessagesClient, MessagesClientBuildError, DEFAULT_API_BASE};
pub use outbound_message::{
    ContentSid, ContentVariables, OutgoingContent, OutgoingMessage, MAX_BODY_CHARS, MAX_MEDIA_URLS,
};
pub use routing::{business_number, classify_form, FormKind, RoutingError};
pub use signature::{check_header, sign, verify_signature, SignatureError, SIGNATURE_HEADER};
pub use status_callback::{StatusCallbackError, TwilioStatusCallback};
pub use twiml::{EMPTY_TWIML, TWIML_CONTENT_TYPE};
