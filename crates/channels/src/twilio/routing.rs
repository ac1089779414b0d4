//! Which kind of webhook a Twilio form is, and which business number it belongs to.
//!
//! The signature of a Twilio webhook is keyed with the auth token of the account that owns the
//! number, so the number must be found *before* the signature can be checked. This module
//! owns that first look: a form carrying `MessageStatus` is a status callback for a message we
//! sent, routed by its `From` (our number); anything else is a customer message, routed by its
//! `To` (our number). Status callbacks may reach the messages URL too (a Messaging Service can
//! be configured that way), which is why the kind comes from the form, not from the URL.
//!
//! Nothing read here is trusted yet: the caller verifies the signature next.

use super::channel_address::parse_address;
use super::form_body::FormBody;
use confab_domain::PhoneNumber;

/// What a Twilio webhook form is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormKind {
    /// A customer's message (`SmsStatus=received`, `Body`, `NumMedia`…).
    Message,
    /// A delivery status callback for a message we sent (`MessageStatus`).
    Status,
}

impl FormKind {
    /// The parameter that names our number in this kind of form.
    pub fn number_field(self) -> &'static str {
        match self {
            Self::Message => "To",
            Self::Status => "From",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Message => "message",
            Self::Status => "status",
        }
    }
}

/// Why a form cannot be routed to a business number.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RoutingError {
    #[error("the form has no `{0}` naming the business number")]
    Missing(&'static str),
    #[error("the form's `{0}` is not a phone number")]
    NotANumber(&'static str),
}

/// Whether `form` is a customer message or a status callback.
pub fn classify_form(form: &FormBody) -> FormKind {
    if form.contains("MessageStatus") {
        FormKind::Status
    } else {
        FormKind::Message
    }
}

/// Our number in `form`: `To` of a message, `From` of a status callback.
pub fn business_number(form: &FormBody, kind: FormKind) -> Result<PhoneNumber, RoutingError> {
    let field = kind.number_field();
    let raw = form.text(field).ok_or(RoutingError::Missing(field))?;
    parse_address(raw).and_then(|a| a.phone().cloned()).ok_or(RoutingError::NotANumber(field))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_route_by_to_and_statuses_by_from() {
        let message =
            FormBody::parse(b"From=whatsapp%3A%2B5511987654321&To=whatsapp%3A%2B14155238886&SmsStatus=received");
        assert_eq!(classify_form(&message), FormKind::Message);
        assert_eq!(business_number(&message, FormKind::Message).expect("routes").as_str(), "+14155238886");
        let status = FormBody::parse(
            b"MessageStatus=read&SmsStatus=read&From=whatsapp%3A%2B14155238886&To=whatsapp%3A%2B5511987654321",
        );
        assert_eq!(classify_form(&status), FormKind::Status);
        assert_eq!(business_number(&status, FormKind::Status).expect("routes").as_str(), "+14155238886");
    }

    #[test]
    fn unroutable_forms_say_why() {
        let empty = FormBody::parse(b"Body=hi");
        assert_eq!(business_number(&empty, FormKind::Message), Err(RoutingError::Missing("To")));
        let odd = FormBody::parse(b"To=whatsapp%3AUS.1234");
        assert_eq!(business_number(&odd, FormKind::Message), Err(RoutingError::NotANumber("To")));
        assert!(RoutingError::Missing("To").to_string().contains("`To`"));
    }
}
