//! One delivery status callback for a message we sent through Twilio.
//!
//! Twilio posts `MessageSid`, `MessageStatus` (`accepted`, `scheduled`, `queued`, `sending`,
//! `sent`, `delivered`, `read`, `undelivered`, `failed`, `canceled`…), `From` (our number, the
//! routing key), `To`, `AccountSid`, and on failures `ErrorCode` (with `ErrorMessage` or, on
//! WhatsApp, `ChannelStatusMessage` sometimes). This module owns reading that into a
//! [`TwilioStatusCallback`]: the status mapped to [`DeliveryStatus`] with Twilio's raw word
//! kept (a word confab does not track, such as `receiving`, stays raw with no mapped status),
//! and a failure's reason as a [`DeliveryError`].
//!
//! The mapping: `accepted`, `scheduled`, `queued` and `sending` are all still `queued` to us;
//! `sent`, `delivered` and `read` map to themselves; `failed`, `undelivered` and `canceled`
//! are `failed` — `undelivered` with Twilio's error code, as the dashboard must show why.
//! Twilio's callbacks carry no timestamp: the caller uses the time one arrives. It does not
//! apply the status (forward-only progression is `DeliveryStatus::advance_to`).

use super::channel_address::parse_address;
use super::error_class::describe_code;
use super::form_body::FormBody;
use confab_domain::{DeliveryError, DeliveryStatus, PhoneNumber};

/// A status callback, parsed but not yet routed to a workspace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TwilioStatusCallback {
    /// The `MessageSid` our send got back: which message this is about.
    pub message_sid: String,
    pub account_sid: Option<String>,
    /// Our number (`From`): the routing key.
    pub from: PhoneNumber,
    /// The customer's number (`To`), when it is one.
    pub to: Option<PhoneNumber>,
    /// `MessageStatus` mapped to the domain; `None` for a word confab does not track.
    pub status: Option<DeliveryStatus>,
    /// `MessageStatus` exactly as Twilio sent it.
    pub raw_status: String,
    /// Why the message failed, for `failed`, `undelivered` and `canceled`.
    pub error: Option<DeliveryError>,
}

/// Why a form cannot be read as a status callback.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StatusCallbackError {
    #[error("the status callback has no `MessageSid`")]
    MissingMessageSid,
    #[error("the status callback has no `MessageStatus`")]
    MissingStatus,
    #[error("the status callback's `From` is not our phone number")]
    MissingFrom,
}

impl TwilioStatusCallback {
    /// Parses a form (already signature-checked).
    pub fn parse(form: &FormBody) -> Result<Self, StatusCallbackError> {
        let message_sid = form
            .text("MessageSid")
            .or_else(|| form.text("SmsSid"))
            .ok_or(StatusCallbackError::MissingMessageSid)?
            .to_owned();
        let raw_status = form.text("MessageStatus").ok_or(StatusCallbackError::MissingStatus)?.to_ascii_lowercase();
        let from = form
            .text("From")
            .and_then(parse_address)
            .and_then(|a| a.phone().cloned())
            .ok_or(StatusCallbackError::MissingFrom)?;
        let status = map_status(&raw_status);
        let error = (status == Some(DeliveryStatus::Failed)).then(|| failure(form, &raw_status));
        Ok(Self {
            message_sid,
            account_sid: form.text("AccountSid").map(str::to_owned),
            from,
            to: form.text("To").and_then(parse_address).and_then(|a| a.phone().cloned()),
            status,
            raw_status,
            error,
        })
    }
}

fn map_status(raw: &str) -> Option<DeliveryStatus> {
    Some(match raw {
        "accepted" | "scheduled" | "queued" | "sending" => DeliveryStatus::Queued,
        "sent" => DeliveryStatus::Sent,
        "delivered" => DeliveryStatus::Delivered,
        "read" => DeliveryStatus::Read,
        "failed" | "undelivered" | "canceled" => DeliveryStatus::Failed,
        _ => return None,
    })
}

/// The reason of a failed callback: `ErrorCode`, titled by `ErrorMessage` (else what confab
/// knows the code to mean), with WhatsApp's `ChannelStatusMessage` as details.
fn failure(form: &FormBody, raw_status: &str) -> DeliveryError {
    let code = form.text("ErrorCode").and_then(|c| c.parse::<i64>().ok()).filter(|c| *c != 0);
    let message = form.text("ErrorMessage");
    let channel_message = form.text("ChannelStatusMessage");
    let title = match (message, code.and_then(describe_code), code) {
        (Some(m), _, _) => m.to_owned(),
        (None, Some(known), _) => known.to_owned(),
        (None, None, Some(code)) => format!("Twilio error {code}"),
        (None, None, None) => format!("Twilio reported the message {raw_status}"),
    };
    let details = channel_message.filter(|d| *d != title).map(str::to_owned);
    DeliveryError { code, title, details }
}

#[cfg(test)]
mod tests {
    use super::*;

    const READ: &[u8] = b"EventType=READ&SmsSid=SMd5cfa9e002d043c18defc777668b08c1&SmsStatus=read&MessageStatus=read\
&ChannelToAddress=%2B91848951XXXX&To=whatsapp%3A%2B918489514086&ChannelPrefix=whatsapp\
&MessageSid=SMd5cfa9e002d043c18defc777668b08c1&AccountSid=AC00000000000000000000000000000000\
&From=whatsapp%3A%2B14155238886&ApiVersion=2010-04-01";

    #[test]
    fn parses_a_real_read_callback() {
        let s = TwilioStatusCallback::parse(&FormBody::parse(READ)).expect("parses");
        assert_eq!(s.message_sid, "SMd5cfa9e002d043c18defc777668b08c1");
        assert_eq!(s.from.as_str(), "+14155238886");
        assert_eq!(s.to.as_ref().map(PhoneNumber::as_str), Some("+918489514086"));
        assert_eq!((s.status, s.raw_status.as_str()), (Some(DeliveryStatus::Read), "read"));
        assert_eq!(s.error, None);
    }

    fn callback(pairs: &[(&str, &str)]) -> TwilioStatusCallback {
        let mut all = vec![("MessageSid", "SM1"), ("From", "whatsapp:+14155238886"), ("To", "whatsapp:+5511987654321")];
        all.extend_from_slice(pairs);
        TwilioStatusCallback::parse(&FormBody::from_pairs(all)).expect("parses")
    }

    #[test]
    fn undelivered_is_failed_with_its_code() {
        let s = callback(&[("MessageStatus", "undelivered"), ("ErrorCode", "63016")]);
        assert_eq!(s.status, Some(DeliveryStatus::Failed));
        let error = s.error.expect("a failure has a reason");
        assert_eq!(error.code, Some(63016));
        assert!(error.title.contains("window"), "{}", error.title);
        let described = callback(&[
            ("MessageStatus", "failed"),
            ("ErrorCode", "63024"),
            ("ErrorMessage", "Invalid message recipient"),
            ("ChannelStatusMessage", "Recipient is not a valid WhatsApp user"),
        ]);
        let error = described.error.expect("reason");
        assert_eq!(error.title, "Invalid message recipient");
        assert_eq!(error.details.as_deref(), Some("Recipient is not a valid WhatsApp user"));
        let unknown = callback(&[("MessageStatus", "failed"), ("ErrorCode", "69999")]);
        assert_eq!(unknown.error.map(|e| e.title), Some("Twilio error 69999".into()));
        let bare = callback(&[("MessageStatus", "undelivered")]);
        assert_eq!(
            bare.error,
            Some(DeliveryError { code: None, title: "Twilio reported the message undelivered".into(), details: None })
        );
    }

    #[test]
    fn maps_every_status_word() {
        for (raw, expected) in [
            ("accepted", Some(DeliveryStatus::Queued)),
            ("scheduled", Some(DeliveryStatus::Queued)),
            ("queued", Some(DeliveryStatus::Queued)),
            ("sending", Some(DeliveryStatus::Queued)),
            ("sent", Some(DeliveryStatus::Sent)),
            ("Delivered", Some(DeliveryStatus::Delivered)),
            ("read", Some(DeliveryStatus::Read)),
            ("canceled", Some(DeliveryStatus::Failed)),
            ("receiving", None),
            ("partially_delivered", None),
        ] {
            let s = callback(&[("MessageStatus", raw)]);
            assert_eq!(s.status, expected, "{raw}");
            assert_eq!(s.raw_status, raw.to_ascii_lowercase());
            assert_eq!(s.error.is_some(), expected == Some(DeliveryStatus::Failed));
        }
        // an error code on a successful status is not a failure
        assert_eq!(callback(&[("MessageStatus", "delivered"), ("ErrorCode", "30008")]).error, None);
    }

    #[test]
    fn refuses_callbacks_missing_what_identifies_them() {
        let parse = |pairs: &[(&str, &str)]| TwilioStatusCallback::parse(&FormBody::from_pairs(pairs.iter().copied()));
        assert_eq!(
            parse(&[("MessageStatus", "sent"), ("From", "whatsapp:+14155238886")]),
            Err(StatusCallbackError::MissingMessageSid)
        );
        assert_eq!(
            parse(&[("MessageSid", "SM1"), ("From", "whatsapp:+14155238886")]),
            Err(StatusCallbackError::MissingStatus)
        );
        assert_eq!(parse(&[("MessageSid", "SM1"), ("MessageStatus", "sent")]), Err(StatusCallbackError::MissingFrom));
    }
}
