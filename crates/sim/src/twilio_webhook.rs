//! Webhook forms as Twilio posts them for WhatsApp — incoming messages and status callbacks —
//! and their `X-Twilio-Signature`.
//!
//! The parameters, their names and their order follow what Twilio sends on live WhatsApp
//! traffic (`SmsMessageSid`, `NumMedia`, `ProfileName`, `MessageType`, `SmsSid`, `WaId`,
//! `SmsStatus=received`, `Body`, `To`, `NumSegments`, `ReferralNumMedia`, `MessageSid`,
//! `AccountSid`, `From`, `ApiVersion`; `MediaUrl{N}`/`MediaContentType{N}`, `Latitude`/
//! `Longitude`/`Label`/`Address`, `ButtonText`/`ButtonPayload`, `OriginalRepliedMessageSid`…
//! for the richer kinds). The signature is over the URL Twilio was configured with, which is
//! not necessarily the address the request is delivered to (a proxy may sit in between).

use confab_channels::twilio::{sign, FormBody};
use std::sync::atomic::{AtomicU64, Ordering};

/// A form ready to post: the body bytes, the URL it was signed for, and the signature.
#[derive(Clone, Debug)]
pub struct SignedForm {
    /// The URL Twilio would sign (the configured webhook URL).
    pub url: String,
    /// `application/x-www-form-urlencoded` bytes.
    pub body: Vec<u8>,
    /// The `X-Twilio-Signature` value.
    pub signature: String,
}

/// Signs `form` as Twilio would for a request to `url` under `auth_token`.
pub fn sign_form(auth_token: &str, url: &str, form: &FormBody) -> SignedForm {
    SignedForm { url: url.to_owned(), body: form.encode().into_bytes(), signature: sign(auth_token, url, form.pairs()) }
}

/// A fresh message SID (`SM` and 32 hex digits), unique within this process.
pub fn new_message_sid() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("SM{:016x}{:016x}", std::process::id(), n)
}

/// A customer's WhatsApp message to a business number, built up then turned into a form.
#[derive(Clone, Debug)]
pub struct InboundForm {
    account_sid: String,
    message_sid: String,
    /// The customer's number, `+E164`.
    from: String,
    /// The business number, `+E164`.
    to: String,
    body: String,
    message_type: Option<String>,
    profile_name: Option<String>,
    media: Vec<(String, String)>,
    extra: Vec<(String, String)>,
}

impl InboundForm {
    /// A text message from `from` (the customer, `+E164`) to `to` (our number, `+E164`).
    pub fn text(account_sid: &str, message_sid: &str, from: &str, to: &str, body: &str) -> Self {
        Self {
            account_sid: account_sid.to_owned(),
            message_sid: message_sid.to_owned(),
            from: from.to_owned(),
            to: to.to_owned(),
            body: body.to_owned(),
            message_type: Some("text".to_owned()),
            profile_name: None,
            media: Vec::new(),
            extra: Vec::new(),
        }
    }

    pub fn profile_name(mut self, name: &str) -> Self {
        self.profile_name = Some(name.to_owned());
        self
    }

    /// `MessageType`; `None` leaves it out, as older traffic did.
    pub fn message_type(mut self, message_type: Option<&str>) -> Self {
        self.message_type = message_type.map(str::to_owned);
        self
    }

    /// An attachment; the message type follows the first one's content type.
    pub fn media(mut self, url: &str, content_type: &str) -> Self {
        if self.media.is_empty() && self.message_type.as_deref() == Some("text") {
            let top = content_type.split('/').next().unwrap_or_default();
            self.message_type = Some(
                match top {
                    "image" | "video" | "audio" => top,
                    _ if content_type.contains("vcard") => "contacts",
                    _ => "document",
                }
                .to_owned(),
            );
        }
        self.media.push((url.to_owned(), content_type.to_owned()));
        self
    }

    /// A shared location.
    pub fn location(mut self, latitude: &str, longitude: &str, label: Option<&str>, address: Option<&str>) -> Self {
        self.message_type = Some("location".to_owned());
        self.extra.push(("Latitude".to_owned(), latitude.to_owned()));
        self.extra.push(("Longitude".to_owned(), longitude.to_owned()));
        if let Some(label) = label {
            self.extra.push(("Label".to_owned(), label.to_owned()));
        }
        if let Some(address) = address {
            self.extra.push(("Address".to_owned(), address.to_owned()));
        }
        self
    }

    /// A template quick-reply button press, quoting the template message `replied_sid`.
    pub fn button(mut self, text: &str, payload: &str, replied_sid: &str) -> Self {
        self.message_type = Some("button".to_owned());
        self.body = text.to_owned();
        self.extra.push(("ButtonText".to_owned(), text.to_owned()));
        self.extra.push(("ButtonPayload".to_owned(), payload.to_owned()));
        self.reply_to_sid(replied_sid)
    }

    /// Quotes the message `replied_sid` (a swipe-to-reply).
    pub fn reply_to_sid(mut self, replied_sid: &str) -> Self {
        self.extra.push(("OriginalRepliedMessageSid".to_owned(), replied_sid.to_owned()));
        self.extra.push(("OriginalRepliedMessageSender".to_owned(), format!("whatsapp:{}", self.to)));
        self
    }

    /// Any other parameter (Twilio adds new ones without notice).
    pub fn param(mut self, name: &str, value: &str) -> Self {
        self.extra.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The form, parameters in the order Twilio sends them.
    pub fn into_form(self) -> FormBody {
        let wa_id = self.from.trim_start_matches('+').to_owned();
        let mut pairs: Vec<(String, String)> = vec![("SmsMessageSid".into(), self.message_sid.clone())];
        pairs.push(("NumMedia".into(), self.media.len().to_string()));
        if let Some(name) = self.profile_name {
            pairs.push(("ProfileName".into(), name));
        }
        if let Some(message_type) = self.message_type {
            pairs.push(("MessageType".into(), message_type));
        }
        pairs.push(("SmsSid".into(), self.message_sid.clone()));
        pairs.push(("WaId".into(), wa_id));
        pairs.push(("SmsStatus".into(), "received".into()));
        pairs.push(("Body".into(), self.body));
        pairs.push(("To".into(), format!("whatsapp:{}", self.to)));
        for (i, (url, content_type)) in self.media.into_iter().enumerate() {
            pairs.push((format!("MediaContentType{i}"), content_type));
            pairs.push((format!("MediaUrl{i}"), url));
        }
        pairs.extend(self.extra);
        pairs.push(("NumSegments".into(), "1".into()));
        pairs.push(("ReferralNumMedia".into(), "0".into()));
        pairs.push(("MessageSid".into(), self.message_sid));
        pairs.push(("AccountSid".into(), self.account_sid));
        pairs.push(("From".into(), format!("whatsapp:{}", self.from)));
        pairs.push(("ApiVersion".into(), "2010-04-01".into()));
        FormBody::from_pairs(pairs)
    }
}

/// A status callback for message `message_sid` sent from our number `from` to the customer
/// `to` (both `+E164`); `error` is `(ErrorCode, ErrorMessage)` for `failed`/`undelivered`.
pub fn status_callback_form(
    account_sid: &str,
    message_sid: &str,
    status: &str,
    from: &str,
    to: &str,
    error: Option<(i64, &str)>,
) -> FormBody {
    let mut pairs: Vec<(String, String)> = Vec::new();
    match status {
        "delivered" => pairs.push(("EventType".into(), "DELIVERED".into())),
        "read" => pairs.push(("EventType".into(), "READ".into())),
        _ => {}
    }
    if let Some((code, message)) = error {
        pairs.push(("ErrorCode".into(), code.to_string()));
        pairs.push(("ErrorMessage".into(), message.to_owned()));
    }
    pairs.extend([
        ("SmsSid".into(), message_sid.to_owned()),
        ("SmsStatus".into(), status.to_owned()),
        ("MessageStatus".into(), status.to_owned()),
        ("ChannelToAddress".into(), to.to_owned()),
        ("To".into(), format!("whatsapp:{to}")),
        ("ChannelPrefix".into(), "whatsapp".into()),
        ("MessageSid".into(), message_sid.to_owned()),
        ("AccountSid".into(), account_sid.to_owned()),
        ("From".into(), format!("whatsapp:{from}")),
        ("ApiVersion".into(), "2010-04-01".into()),
    ]);
    FormBody::from_pairs(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use confab_channels::twilio::{verify_signature, TwilioInboundMessage, TwilioStatusCallback};
    use confab_domain::{DeliveryStatus, MessageKind};

    const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";

    #[test]
    fn inbound_forms_parse_back_with_their_kind() {
        let sid = new_message_sid();
        assert_eq!(sid.len(), 34);
        let form = InboundForm::text(ACCOUNT, &sid, "+5511987654321", "+14155238886", "")
            .profile_name("Ana")
            .media("https://api.twilio.com/m/ME1", "image/jpeg")
            .into_form();
        let m = TwilioInboundMessage::parse(&form).expect("parses");
        assert_eq!((m.kind, m.message_sid.as_str()), (MessageKind::Image, sid.as_str()));
        assert_eq!(m.profile_name.as_deref(), Some("Ana"));
        let button = InboundForm::text(ACCOUNT, "SM2", "+5511987654321", "+14155238886", "")
            .button("Yes", "confirm", "SM1")
            .into_form();
        let b = TwilioInboundMessage::parse(&button).expect("parses");
        assert_eq!((b.kind, b.reply_to.as_deref()), (MessageKind::Button, Some("SM1")));
    }

    #[test]
    fn signed_forms_verify_and_status_forms_parse() {
        let form = InboundForm::text(ACCOUNT, "SM1", "+5511987654321", "+14155238886", "olá + adeus").into_form();
        let signed = sign_form("token", "https://example.com/webhooks/twilio", &form);
        let decoded = FormBody::parse(&signed.body);
        assert_eq!(decoded, form);
        let verified =
            verify_signature("token", "https://example.com/webhooks/twilio", decoded.pairs(), Some(&signed.signature));
        assert_eq!(verified, Ok(()));
        let status = status_callback_form(
            ACCOUNT,
            "SM1",
            "undelivered",
            "+14155238886",
            "+5511987654321",
            Some((63016, "Outside window")),
        );
        let s = TwilioStatusCallback::parse(&status).expect("parses");
        assert_eq!(s.status, Some(DeliveryStatus::Failed));
        assert_eq!(s.error.and_then(|e| e.code), Some(63016));
    }
}
