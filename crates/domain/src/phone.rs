//! E.164 phone numbers, as WhatsApp addresses customers and business numbers.

use crate::ValidationError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A phone number in E.164 form: `+` and 8 to 15 digits, the first not zero.
/// Parsing accepts the digits alone (WhatsApp's `wa_id` has no `+`) and ignores spaces,
/// dashes, dots and parentheses people type; anything else is rejected.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

impl PhoneNumber {
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let trimmed = input.trim();
        let rest = trimmed.strip_prefix('+').unwrap_or(trimmed);
        let mut digits = String::with_capacity(16);
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' | '(' | ')' => {}
                _ => {
                    return Err(ValidationError::new(
                        "phone",
                        "a phone number may contain only digits, an optional leading +, spaces and dashes",
                    ))
                }
            }
        }
        if !(8..=15).contains(&digits.len()) {
            return Err(ValidationError::new(
                "phone",
                "an E.164 phone number has 8 to 15 digits including the country code",
            ));
        }
        if digits.starts_with('0') {
            return Err(ValidationError::new("phone", "an E.164 number starts with the country code, not 0"));
        }
        Ok(Self(format!("+{digits}")))
    }

    /// `+15551234567`
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `15551234567`, as WhatsApp's `wa_id` and `to` fields want it.
    pub fn digits(&self) -> &str {
        &self.0[1..]
    }

    /// A form safe for logs: country code and the last two digits only.
    pub fn masked(&self) -> String {
        let d = self.digits();
        format!("+{}…{}", &d[..2.min(d.len())], &d[d.len() - 2..])
    }
}

impl TryFrom<String> for PhoneNumber {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<PhoneNumber> for String {
    fn from(value: PhoneNumber) -> Self {
        value.0
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `Debug` masks the number so a stray `{:?}` cannot put a customer's phone in a log.
impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_common_forms() {
        for input in ["+15551234567", "15551234567", "+1 (555) 123-4567", " 447700900123 "] {
            assert!(PhoneNumber::parse(input).is_ok(), "{input}");
        }
        assert_eq!(PhoneNumber::parse("1 555 123 4567").unwrap().as_str(), "+15551234567");
        assert_eq!(PhoneNumber::parse("+15551234567").unwrap().digits(), "15551234567");
    }

    #[test]
    fn rejects_bad_numbers() {
        for input in ["", "+", "1234567", "+0123456789", "1234567890123456", "+1555abc4567", "++15551234567"] {
            assert!(PhoneNumber::parse(input).is_err(), "{input}");
        }
    }

    #[test]
    fn debug_masks_digits() {
        let p = PhoneNumber::parse("+15551234567").unwrap();
        assert!(!format!("{p:?}").contains("5551234"));
    }

    proptest! {
        #[test]
        fn parse_never_panics_and_round_trips(s in "\\PC{0,24}") {
            if let Ok(p) = PhoneNumber::parse(&s) {
                prop_assert_eq!(PhoneNumber::parse(p.as_str()).unwrap(), p.clone());
                prop_assert!(p.digits().len() >= 8 && p.digits().len() <= 15);
            }
        }
    }
}
