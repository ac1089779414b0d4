//! The body Twilio posts to a webhook: `application/x-www-form-urlencoded` name/value pairs.
//!
//! This module owns decoding that body (percent-escapes and `+` for space, invalid UTF-8
//! replaced rather than refused) into [`FormBody`], and reading its fields. The pairs keep
//! their arrival order and any repeated names, because the signature is computed over every
//! pair Twilio sent — including ones confab does not know yet (Twilio adds parameters without
//! notice). Decoding never fails and never panics: any bytes give some form.
//!
//! `Debug` shows the parameter names only: the values are customer data (phone numbers, text).

use std::fmt;

/// A decoded form: name/value pairs in the order they arrived.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct FormBody {
    pairs: Vec<(String, String)>,
}

impl FormBody {
    /// Decodes a raw form body.
    pub fn parse(raw: &[u8]) -> Self {
        Self { pairs: form_urlencoded::parse(raw).map(|(k, v)| (k.into_owned(), v.into_owned())).collect() }
    }

    /// A form from pairs already decoded (the simulator builds forms this way).
    pub fn from_pairs<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        Self { pairs: pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect() }
    }

    /// The form with NUL characters replaced in every name and value
    /// ([`crate::storable_text`]): what is read after the signature was checked.
    pub fn storable(mut self) -> Self {
        for (name, value) in &mut self.pairs {
            crate::storable_text::make_storable(name);
            crate::storable_text::make_storable(value);
        }
        self
    }

    /// Every pair, in arrival order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// The value of the first parameter called `name` (names are case-sensitive, as Twilio's).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// [`Self::get`], trimmed, when not empty.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.get(name).map(str::trim).filter(|v| !v.is_empty())
    }

    /// Whether a parameter called `name` was sent (even empty).
    pub fn contains(&self, name: &str) -> bool {
        self.pairs.iter().any(|(k, _)| k == name)
    }

    /// `true`/`false` parameters as Twilio spells them (`Forwarded=true`).
    pub fn flag(&self, name: &str) -> bool {
        self.text(name).is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    /// The form encoded again, as a body to post (spaces as `+`, as Twilio sends them).
    pub fn encode(&self) -> String {
        form_urlencoded::Serializer::new(String::new()).extend_pairs(self.pairs.iter()).finish()
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }
}

impl fmt::Debug for FormBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.pairs.iter().map(|(k, _)| k)).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decodes_twilio_bodies() {
        let form = FormBody::parse(
            b"SmsMessageSid=SM01&NumMedia=0&ProfileName=Jhonata&Body=Ol%C3%A1+mundo&To=whatsapp%3A%2B14155238886&Empty=",
        );
        assert_eq!(form.get("Body"), Some("Olá mundo"));
        assert_eq!(form.get("To"), Some("whatsapp:+14155238886"));
        assert_eq!(form.get("Empty"), Some(""));
        assert_eq!(form.text("Empty"), None);
        assert!(form.contains("Empty"));
        assert_eq!(form.get("body"), None, "names are case-sensitive");
        assert_eq!(form.pairs().len(), 6);
    }

    #[test]
    fn keeps_repeats_and_order() {
        let form = FormBody::parse(b"b=2&a=1&b=3");
        assert_eq!(form.pairs(), [("b".into(), "2".into()), ("a".into(), "1".into()), ("b".into(), "3".into())]);
        assert_eq!(form.get("b"), Some("2"));
    }

    #[test]
    fn invalid_bytes_are_replaced_not_refused() {
        let form = FormBody::parse(b"Body=%FF%FE&x=%ZZ&&=v");
        assert_eq!(form.get("Body"), Some("\u{fffd}\u{fffd}"));
        assert_eq!(form.get("x"), Some("%ZZ"));
        assert_eq!(form.get(""), Some("v"));
    }

    #[test]
    fn flags_and_debug() {
        let form = FormBody::from_pairs([("Forwarded", "True"), ("Body", "secret text")]);
        assert!(form.flag("Forwarded"));
        assert!(!form.flag("FrequentlyForwarded"));
        let shown = format!("{form:?}");
        assert!(shown.contains("Body") && !shown.contains("secret"), "{shown}");
    }

    proptest! {
        #[test]
        fn encode_round_trips(pairs in proptest::collection::vec(("\\PC{0,8}", "\\PC{0,16}"), 0..6)) {
            let form = FormBody::from_pairs(pairs);
            prop_assert_eq!(FormBody::parse(form.encode().as_bytes()), form);
        }

        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = FormBody::parse(&bytes);
        }
    }
}
