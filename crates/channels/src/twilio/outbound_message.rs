//! A message confab sends through Twilio's Messages API, and its exact form fields.
//!
//! This module owns the shapes we send (`POST /2010-04-01/Accounts/{AccountSid}/Messages.json`,
//! form-encoded): free-form text (`Body`), media (`MediaUrl`, repeated, with an optional
//! `Body` caption), and Content templates (`ContentSid` plus `ContentVariables`, a JSON object
//! string such as `{"1":"Ana","2":"3pm"}`) — since April 2025 the only way Twilio sends a
//! WhatsApp template; a template in `Body` outside the window fails with 63016. `From` and
//! `To` are `whatsapp:+E164` addresses; `StatusCallback` asks Twilio to post status callbacks.
//!
//! Limits, checked by [`OutgoingMessage::validate`] so a bad message is refused with a
//! readable reason before it reaches Twilio: `Body` at most 1600 characters (error 21617); at
//! most 10 `MediaUrl`s, each an absolute http(s) URL Twilio can fetch; a `ContentSid` is `HX`
//! and 32 hex digits (21655); variables are non-empty keys. Lengths count Unicode characters.
//!
//! It does not send anything (that is `messages_client`) or decide whether a free-form
//! message may go out at all (the 24-hour window is the engine's).

use super::channel_address::whatsapp_address;
use confab_domain::{PhoneNumber, ValidationError};
use std::collections::BTreeMap;

/// Most characters in `Body`.
pub const MAX_BODY_CHARS: usize = 1600;
/// Most `MediaUrl`s in one message.
pub const MAX_MEDIA_URLS: usize = 10;

/// A Content template's SID: `HX` and 32 hex digits.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ContentSid(String);

impl ContentSid {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        confab_domain::parse_twilio_content_sid(raw).map(Self).map_err(|_| {
            ValidationError::new("content_sid", "a Twilio ContentSid is HX followed by 32 hexadecimal digits")
        })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A template's placeholder values, by placeholder name (`"1"`, `"2"`, or a named variable).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContentVariables(BTreeMap<String, String>);

impl ContentVariables {
    pub fn new() -> Self {
        Self::default()
    }

    /// Positional values: the first is `{{1}}`, the second `{{2}}`…
    pub fn positional<S: Into<String>>(values: impl IntoIterator<Item = S>) -> Self {
        Self(values.into_iter().enumerate().map(|(i, v)| ((i + 1).to_string(), v.into())).collect())
    }

    pub fn with(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.0.insert(name.into(), value.into());
        self
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// The `ContentVariables` parameter: a JSON object of strings.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_else(|_| "{}".to_owned())
    }
}

/// What a message carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutgoingContent {
    /// A free-form text (inside the 24-hour window only).
    Text { body: String },
    /// Attachments Twilio fetches from these URLs, with an optional caption.
    Media { caption: Option<String>, media_urls: Vec<String> },
    /// An approved Content template (the only thing that goes out outside the window).
    Template { content_sid: ContentSid, variables: ContentVariables },
}

/// One message to one customer from one of our numbers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutgoingMessage {
    pub from: PhoneNumber,
    pub to: PhoneNumber,
    pub content: OutgoingContent,
    /// Where Twilio should post this message's status callbacks.
    pub status_callback: Option<String>,
}

impl OutgoingMessage {
    /// Checks Twilio's limits; the error names the field and the limit.
    pub fn validate(&self) -> Result<(), ValidationError> {
        match &self.content {
            OutgoingContent::Text { body } => {
                if body.trim().is_empty() {
                    return Err(ValidationError::new("text", "a text message needs a body"));
                }
                check_body("text", body)
            }
            OutgoingContent::Media { caption, media_urls } => {
                if media_urls.is_empty() || media_urls.len() > MAX_MEDIA_URLS {
                    return Err(ValidationError::new(
                        "media_urls",
                        format!("a media message has 1 to {MAX_MEDIA_URLS} media URLs"),
                    ));
                }
                if !media_urls.iter().all(|u| is_http_url(u)) {
                    return Err(ValidationError::new("media_urls", "media URLs must be absolute http(s) URLs"));
                }
                caption.as_deref().map_or(Ok(()), |c| check_body("caption", c))
            }
            OutgoingContent::Template { variables, .. } => {
                if variables.0.keys().any(|k| k.trim().is_empty()) {
                    return Err(ValidationError::new("parameters", "template variable names must not be empty"));
                }
                Ok(())
            }
        }?;
        if let Some(url) = &self.status_callback {
            if !is_http_url(url) {
                return Err(ValidationError::new(
                    "status_callback",
                    "the status callback must be an absolute http(s) URL",
                ));
            }
        }
        Ok(())
    }

    /// The form fields of the API call, in a stable order.
    pub fn form_fields(&self) -> Vec<(&'static str, String)> {
        let mut fields = vec![("From", whatsapp_address(&self.from)), ("To", whatsapp_address(&self.to))];
        match &self.content {
            OutgoingContent::Text { body } => fields.push(("Body", body.clone())),
            OutgoingContent::Media { caption, media_urls } => {
                if let Some(caption) = caption.as_ref().filter(|c| !c.trim().is_empty()) {
                    fields.push(("Body", caption.clone()));
                }
                fields.extend(media_urls.iter().map(|u| ("MediaUrl", u.clone())));
            }
            OutgoingContent::Template { content_sid, variables } => {
                fields.push(("ContentSid", content_sid.as_str().to_owned()));
                if !variables.is_empty() {
                    fields.push(("ContentVariables", variables.to_json()));
                }
            }
        }
        if let Some(url) = &self.status_callback {
            fields.push(("StatusCallback", url.clone()));
        }
        fields
    }
}

fn check_body(field: &'static str, body: &str) -> Result<(), ValidationError> {
    if body.chars().count() > MAX_BODY_CHARS {
        return Err(ValidationError::new(field, format!("Twilio takes at most {MAX_BODY_CHARS} characters")));
    }
    Ok(())
}

fn is_http_url(url: &str) -> bool {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/') && !url.chars().any(char::is_whitespace))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phone(s: &str) -> PhoneNumber {
        PhoneNumber::parse(s).expect("valid")
    }

    fn message(content: OutgoingContent) -> OutgoingMessage {
        OutgoingMessage { from: phone("+14155238886"), to: phone("+5511987654321"), content, status_callback: None }
    }

    #[test]
    fn text_fields() {
        let mut m = message(OutgoingContent::Text { body: "Olá!".into() });
        m.status_callback = Some("https://confab.example.com/webhooks/twilio/status".into());
        assert_eq!(m.validate(), Ok(()));
        assert_eq!(
            m.form_fields(),
            [
                ("From", "whatsapp:+14155238886".to_owned()),
                ("To", "whatsapp:+5511987654321".to_owned()),
                ("Body", "Olá!".to_owned()),
                ("StatusCallback", "https://confab.example.com/webhooks/twilio/status".to_owned()),
            ]
        );
    }

    #[test]
    fn template_fields_carry_json_variables() {
        let sid = ContentSid::parse("HXb5b62575e6e4ff6129ad7c8efe1f983e").expect("valid");
        let m = message(OutgoingContent::Template {
            content_sid: sid,
            variables: ContentVariables::positional(["Ana", "3pm \"today\""]),
        });
        assert_eq!(m.validate(), Ok(()));
        let fields = m.form_fields();
        assert_eq!(fields[2], ("ContentSid", "HXb5b62575e6e4ff6129ad7c8efe1f983e".to_owned()));
        assert_eq!(fields[3], ("ContentVariables", r#"{"1":"Ana","2":"3pm \"today\""}"#.to_owned()));
        assert!(!fields.iter().any(|(k, _)| *k == "Body"));
        let plain = message(OutgoingContent::Template {
            content_sid: ContentSid::parse("HX00000000000000000000000000000000").expect("valid"),
            variables: ContentVariables::new(),
        });
        assert_eq!(plain.form_fields().len(), 3);
        assert!(
            ContentSid::parse("HX123").is_err() && ContentSid::parse("MG00000000000000000000000000000000").is_err()
        );
        let named = ContentVariables::new().with("name", "Ana");
        assert_eq!((named.to_json(), named.get("name")), (r#"{"name":"Ana"}"#.to_owned(), Some("Ana")));
    }

    #[test]
    fn media_fields_repeat_media_url() {
        let m = message(OutgoingContent::Media {
            caption: Some("the menu".into()),
            media_urls: vec!["https://example.com/a.jpg".into(), "https://example.com/b.pdf".into()],
        });
        assert_eq!(m.validate(), Ok(()));
        let fields = m.form_fields();
        assert_eq!(fields.iter().filter(|(k, _)| *k == "MediaUrl").count(), 2);
        assert_eq!(fields[2], ("Body", "the menu".to_owned()));
    }

    #[test]
    fn limits_are_checked() {
        let too_long = message(OutgoingContent::Text { body: "é".repeat(MAX_BODY_CHARS + 1) });
        assert_eq!(too_long.validate().map_err(|e| e.field), Err("text"));
        assert!(message(OutgoingContent::Text { body: "é".repeat(MAX_BODY_CHARS) }).validate().is_ok());
        assert!(message(OutgoingContent::Text { body: "  ".into() }).validate().is_err());
        for urls in [
            vec![],
            vec!["ftp://x/y".to_owned()],
            vec!["https://".to_owned()],
            vec!["https://a b".to_owned()],
            vec!["https://x/a".to_owned(); 11],
        ] {
            let m = message(OutgoingContent::Media { caption: None, media_urls: urls });
            assert_eq!(m.validate().map_err(|e| e.field), Err("media_urls"));
        }
        let blank_var = message(OutgoingContent::Template {
            content_sid: ContentSid::parse("HX00000000000000000000000000000000").expect("valid"),
            variables: ContentVariables::new().with(" ", "x"),
        });
        assert!(blank_var.validate().is_err());
        let mut bad_callback = message(OutgoingContent::Text { body: "hi".into() });
        bad_callback.status_callback = Some("/webhooks/twilio/status".into());
        assert_eq!(bad_callback.validate().map_err(|e| e.field), Err("status_callback"));
    }
}
