//! Twilio's channel addresses: `whatsapp:+14155238886` for a number, and — for WhatsApp users
//! known only by a business-scoped user id — `whatsapp:US.13491208655302741918`.
//!
//! This module owns reading a `From`/`To`/`ExternalUserId` value into a [`ChannelAddress`] and
//! writing a number as the `whatsapp:` address Twilio expects. A value without the `whatsapp:`
//! prefix is an SMS (or other channel) address: it still parses, and says so, because the
//! same Twilio number can receive SMS on the same webhook and confab must tell them apart.

use confab_domain::PhoneNumber;

/// The prefix of every WhatsApp address on Twilio.
pub const WHATSAPP_PREFIX: &str = "whatsapp:";

/// What a Twilio address names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChannelAddress {
    /// A phone number, on WhatsApp (`whatsapp:+E164`) or not (a bare `+E164` is SMS).
    Phone { number: PhoneNumber, whatsapp: bool },
    /// A WhatsApp business-scoped user id (`CC.digits`), for users who hide their number.
    UserId(String),
}

impl ChannelAddress {
    /// The phone number, when the address is one.
    pub fn phone(&self) -> Option<&PhoneNumber> {
        match self {
            Self::Phone { number, .. } => Some(number),
            Self::UserId(_) => None,
        }
    }

    /// Whether this is a WhatsApp address.
    pub fn is_whatsapp(&self) -> bool {
        match self {
            Self::Phone { whatsapp, .. } => *whatsapp,
            Self::UserId(_) => true,
        }
    }
}

/// Reads a Twilio address; `None` for an empty value or one that is neither a phone number
/// nor a business-scoped user id.
pub fn parse_address(raw: &str) -> Option<ChannelAddress> {
    let raw = raw.trim();
    let (whatsapp, rest) = match raw.get(..WHATSAPP_PREFIX.len()) {
        Some(prefix) if prefix.eq_ignore_ascii_case(WHATSAPP_PREFIX) => (true, &raw[WHATSAPP_PREFIX.len()..]),
        _ => (false, raw),
    };
    if whatsapp && is_user_id(rest) {
        return Some(ChannelAddress::UserId(rest.to_owned()));
    }
    PhoneNumber::parse(rest).ok().map(|number| ChannelAddress::Phone { number, whatsapp })
}

/// `whatsapp:+14155238886`: how Twilio wants a WhatsApp number in `From` and `To`.
pub fn whatsapp_address(number: &PhoneNumber) -> String {
    format!("{WHATSAPP_PREFIX}{number}")
}

/// A business-scoped user id: a two-letter country code, a dot, then letters and digits.
fn is_user_id(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() > 3
        && b[..2].iter().all(u8::is_ascii_uppercase)
        && b[2] == b'.'
        && b[3..].iter().all(u8::is_ascii_alphanumeric)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_whatsapp_sms_and_user_id_addresses() {
        let wa = parse_address("whatsapp:+14155238886").expect("parses");
        assert_eq!(wa.phone().map(PhoneNumber::as_str), Some("+14155238886"));
        assert!(wa.is_whatsapp());
        let upper = parse_address(" WhatsApp:+14155238886 ").expect("parses");
        assert!(upper.is_whatsapp());
        let sms = parse_address("+14155238886").expect("parses");
        assert!(!sms.is_whatsapp());
        assert_eq!(
            parse_address("whatsapp:ID.4566546130240823"),
            Some(ChannelAddress::UserId("ID.4566546130240823".into()))
        );
        for bad in ["", "whatsapp:", "whatsapp:abc", "messenger:123", "ID.123", "whatsapp:id.123", "whatsapp:US."] {
            assert_eq!(parse_address(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn writes_whatsapp_addresses() {
        let number = PhoneNumber::parse("+14155238886").expect("valid");
        assert_eq!(whatsapp_address(&number), "whatsapp:+14155238886");
    }
}
