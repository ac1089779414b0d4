//! One customer message, from the form Twilio posts to the incoming-message webhook.
//!
//! This module owns the envelope: the `MessageSid` (the idempotency key), the business number
//! it was sent to (`To`), who sent it (`From` — a `whatsapp:+E164` number, or a
//! business-scoped user id for users who hide their number — with `WaId`, `ExternalUserId` and
//! `ProfileName`), the account, the quoted message (`OriginalRepliedMessageSid`) and the
//! forward flags. What the message says comes from `message_content`.
//!
//! Twilio's form carries no timestamp of its own: the caller uses the time it arrived, so the
//! 24-hour window counts from then. A form without a `MessageSid`, a `To` number or any sender
//! id cannot be stored idempotently or attributed, and one whose `From` is not a WhatsApp
//! address is an SMS: each is refused with the reason.

use super::channel_address::{parse_address, ChannelAddress};
use super::form_body::FormBody;
use super::message_content::describe;
pub use super::message_content::InboundMedia;
use confab_domain::{CustomerIdentity, MessageKind, PhoneNumber};
use serde_json::Value;

/// A Twilio WhatsApp message, parsed but not yet routed to a workspace.
#[derive(Clone, Debug, PartialEq)]
pub struct TwilioInboundMessage {
    /// `MessageSid` (`SM…`/`MM…`): the idempotency key and what replies quote.
    pub message_sid: String,
    /// `AccountSid` of the Twilio account that received it.
    pub account_sid: Option<String>,
    /// Our number (`To`): the routing key.
    pub to: PhoneNumber,
    /// The customer's number: `From`, else `WaId`. Absent for users who hide their number.
    pub from: Option<PhoneNumber>,
    /// The customer's business-scoped user id: `ExternalUserId`, or a `From` that is one.
    pub business_scoped_user_id: Option<String>,
    /// `ProfileName`: the customer's WhatsApp display name.
    pub profile_name: Option<String>,
    pub kind: MessageKind,
    /// The text, caption, or a short readable summary; see `message_content`.
    pub content: String,
    /// The attachments, in order (`MediaUrl{N}` / `MediaContentType{N}`).
    pub media: Vec<InboundMedia>,
    /// What Twilio sent beyond the envelope; see `message_content` for the exact contract.
    pub payload: Value,
    /// `OriginalRepliedMessageSid`: the message this one quotes (e.g. a template's button).
    pub reply_to: Option<String>,
    /// `Forwarded` or `FrequentlyForwarded`.
    pub forwarded: bool,
}

/// Why a form cannot be stored as a WhatsApp message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InboundFormError {
    #[error("the form has no `MessageSid`")]
    MissingMessageSid,
    #[error("the form has no `To` number naming the business number")]
    MissingTo,
    #[error("the form's `From` is not a WhatsApp address (an SMS or another channel): confab handles WhatsApp only")]
    NotWhatsapp,
    #[error("the form names no sender: neither `From`, `WaId` nor `ExternalUserId` is usable")]
    NoSender,
}

impl TwilioInboundMessage {
    /// Parses a form (already signature-checked).
    pub fn parse(form: &FormBody) -> Result<Self, InboundFormError> {
        let message_sid = form
            .text("MessageSid")
            .or_else(|| form.text("SmsMessageSid"))
            .or_else(|| form.text("SmsSid"))
            .ok_or(InboundFormError::MissingMessageSid)?
            .to_owned();
        let to = form
            .text("To")
            .and_then(parse_address)
            .and_then(|a| a.phone().cloned())
            .ok_or(InboundFormError::MissingTo)?;
        let from = form.text("From").and_then(parse_address);
        if from.as_ref().is_some_and(|a| !a.is_whatsapp()) {
            return Err(InboundFormError::NotWhatsapp);
        }
        let external_user_id = form.text("ExternalUserId").and_then(parse_address).and_then(|a| match a {
            ChannelAddress::UserId(id) => Some(id),
            ChannelAddress::Phone { .. } => None,
        });
        let (phone, user_id) = match from {
            Some(ChannelAddress::Phone { number, .. }) => (Some(number), external_user_id),
            Some(ChannelAddress::UserId(id)) => (None, Some(id)),
            None => (None, external_user_id),
        };
        let phone = phone.or_else(|| form.text("WaId").and_then(|w| PhoneNumber::parse(w).ok()));
        if phone.is_none() && user_id.is_none() {
            return Err(InboundFormError::NoSender);
        }
        let content = describe(form);
        Ok(Self {
            message_sid,
            account_sid: form.text("AccountSid").map(str::to_owned),
            to,
            from: phone,
            business_scoped_user_id: user_id,
            profile_name: form.text("ProfileName").map(str::to_owned),
            kind: content.kind,
            content: content.content,
            media: content.media,
            payload: content.payload,
            reply_to: form.text("OriginalRepliedMessageSid").map(str::to_owned),
            forwarded: form.flag("Forwarded") || form.flag("FrequentlyForwarded"),
        })
    }

    /// The customer as the domain names one.
    pub fn customer_identity(&self) -> CustomerIdentity {
        CustomerIdentity::Whatsapp {
            wa_id: self.from.clone(),
            business_scoped_user_id: self.business_scoped_user_id.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    /// A real WhatsApp quick-reply form as Twilio posts it (shape from a public project's
    /// captured traffic; identifiers replaced).
    const BUTTON_REPLY: &[u8] = b"OriginalRepliedMessageSender=whatsapp%3A%2B14155238886\
&ExternalUserId=whatsapp%3AID.4566546130240823&SmsMessageSid=SM8824d91645395b17594d92659b878468\
&FrequentlyForwarded=false&NumMedia=0&ProfileName=teknisee&MessageType=interactive\
&SmsSid=SM8824d91645395b17594d92659b878468&WaId=6285176810035&SmsStatus=received&Body=Konfirmasi\
&Forwarded=false&ButtonText=Konfirmasi&To=whatsapp%3A%2B14155238886&ButtonPayload=%7BverifyEmail%7D\
&NumSegments=1&ReferralNumMedia=0&MessageSid=SM8824d91645395b17594d92659b878468\
&AccountSid=AC00000000000000000000000000000000&OriginalRepliedMessageSid=MM5cc44eecf7dab0d48d4529d0fa4af44d\
&From=whatsapp%3A%2B6285176810035&ApiVersion=2010-04-01";

    #[test]
    fn parses_a_real_button_reply() {
        let m = TwilioInboundMessage::parse(&FormBody::parse(BUTTON_REPLY)).expect("parses");
        assert_eq!(m.message_sid, "SM8824d91645395b17594d92659b878468");
        assert_eq!(m.to.as_str(), "+14155238886");
        assert_eq!(m.from.as_ref().map(PhoneNumber::as_str), Some("+6285176810035"));
        assert_eq!(m.business_scoped_user_id.as_deref(), Some("ID.4566546130240823"));
        assert_eq!(m.profile_name.as_deref(), Some("teknisee"));
        assert_eq!((m.kind, m.content.as_str()), (MessageKind::Interactive, "Konfirmasi"));
        assert_eq!(m.reply_to.as_deref(), Some("MM5cc44eecf7dab0d48d4529d0fa4af44d"));
        assert!(!m.forwarded);
        assert_eq!(m.payload["ButtonPayload"], "{verifyEmail}");
        assert!(m.payload.get("From").is_none() && m.payload.get("ProfileName").is_none());
        assert_eq!(
            m.customer_identity(),
            CustomerIdentity::Whatsapp {
                wa_id: PhoneNumber::parse("+6285176810035").ok(),
                business_scoped_user_id: Some("ID.4566546130240823".into())
            }
        );
    }

    #[test]
    fn users_without_a_number_and_numbers_from_wa_id() {
        let hidden = FormBody::from_pairs([
            ("MessageSid", "SM1"),
            ("To", "whatsapp:+14155238886"),
            ("From", "whatsapp:US.123456"),
        ]);
        let m = TwilioInboundMessage::parse(&hidden).expect("parses");
        assert_eq!((m.from, m.business_scoped_user_id.as_deref()), (None, Some("US.123456")));
        let wa_id_only =
            FormBody::from_pairs([("MessageSid", "SM1"), ("To", "whatsapp:+14155238886"), ("WaId", "5511987654321")]);
        let m = TwilioInboundMessage::parse(&wa_id_only).expect("parses");
        assert_eq!(m.from.as_ref().map(PhoneNumber::as_str), Some("+5511987654321"));
        let forwarded = FormBody::from_pairs([
            ("MessageSid", "SM1"),
            ("To", "whatsapp:+14155238886"),
            ("From", "whatsapp:+5511987654321"),
            ("FrequentlyForwarded", "true"),
            ("Body", "fwd"),
        ]);
        let m = TwilioInboundMessage::parse(&forwarded).expect("parses");
        assert!(m.forwarded);
        assert_eq!(m.payload, json!({"FrequentlyForwarded": "true", "Body": "fwd"}));
    }

    #[test]
    fn refuses_what_cannot_be_stored() {
        let cases: [(&[(&str, &str)], InboundFormError); 5] = [
            (
                &[("To", "whatsapp:+14155238886"), ("From", "whatsapp:+5511987654321")],
                InboundFormError::MissingMessageSid,
            ),
            (&[("MessageSid", "SM1"), ("From", "whatsapp:+5511987654321")], InboundFormError::MissingTo),
            (
                &[("MessageSid", "SM1"), ("To", "whatsapp:nobody"), ("From", "whatsapp:+5511987654321")],
                InboundFormError::MissingTo,
            ),
            (
                &[("MessageSid", "SM1"), ("To", "+14155238886"), ("From", "+5511987654321")],
                InboundFormError::NotWhatsapp,
            ),
            (
                &[("MessageSid", "SM1"), ("To", "whatsapp:+14155238886"), ("From", "whatsapp:???")],
                InboundFormError::NoSender,
            ),
        ];
        for (pairs, expected) in cases {
            let form = FormBody::from_pairs(pairs.iter().copied());
            assert_eq!(TwilioInboundMessage::parse(&form), Err(expected));
        }
        // SmsSid stands in for a missing MessageSid
        let legacy = FormBody::from_pairs([
            ("SmsSid", "SM9"),
            ("To", "whatsapp:+14155238886"),
            ("From", "whatsapp:+5511987654321"),
        ]);
        assert_eq!(TwilioInboundMessage::parse(&legacy).expect("parses").message_sid, "SM9");
    }

    fn field_name() -> impl Strategy<Value = String> {
        prop_oneof![
            proptest::sample::select(vec![
                "MessageSid",
                "To",
                "From",
                "WaId",
                "ExternalUserId",
                "Body",
                "NumMedia",
                "MediaUrl0",
                "MediaContentType0",
                "MediaUrl1",
                "MessageType",
                "Latitude",
                "Longitude",
                "Label",
                "ButtonText",
                "ButtonPayload",
                "MessageStatus",
                "ErrorCode",
                "Forwarded",
            ])
            .prop_map(str::to_owned),
            "\\PC{0,12}",
        ]
    }

    proptest! {
        /// Whatever Twilio (or anyone) posts, parsing answers without panicking, and whatever
        /// parses has a sid, a business number and a sender.
        #[test]
        fn parsing_never_panics(pairs in proptest::collection::vec((field_name(), "\\PC{0,24}"), 0..12)) {
            let form = FormBody::from_pairs(pairs);
            if let Ok(m) = TwilioInboundMessage::parse(&form) {
                prop_assert!(!m.message_sid.is_empty());
                prop_assert!(m.from.is_some() || m.business_scoped_user_id.is_some());
                prop_assert!(m.payload.is_object());
            }
            let _ = crate::twilio::TwilioStatusCallback::parse(&form);
        }
    }
}
