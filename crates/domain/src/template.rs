//! Pre-approved WhatsApp message templates.

use crate::{TemplateId, ValidationError, WorkspaceId};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A template name as Meta accepts it: lower-case letters, digits and underscores, at most 512.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TemplateName(String);

impl TemplateName {
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        if s.is_empty()
            || s.len() > 512
            || !s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(ValidationError::new(
                "template",
                "a template name has only lower-case letters, digits and underscores",
            ));
        }
        Ok(Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TemplateName {
    type Error = ValidationError;
    fn try_from(v: String) -> Result<Self, Self::Error> {
        Self::parse(&v)
    }
}

impl From<TemplateName> for String {
    fn from(v: TemplateName) -> Self {
        v.0
    }
}

impl fmt::Debug for TemplateName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TemplateName({})", self.0)
    }
}

/// A template language code as Meta names them (`en`, `en_US`, `pt_BR`): letters and
/// underscores, at most 15.
pub fn parse_template_language(raw: &str) -> Result<String, ValidationError> {
    if raw.is_empty() || raw.len() > 15 || !raw.bytes().all(|b| b.is_ascii_alphabetic() || b == b'_') {
        return Err(ValidationError::new("language", "language is a template language code such as en_US or es"));
    }
    Ok(raw.to_string())
}

/// A Twilio Content template's SID, as Twilio names it: `HX` and 32 hexadecimal digits (a
/// WhatsApp template on a Twilio number is sent by this SID, not by name).
pub fn parse_twilio_content_sid(raw: &str) -> Result<String, ValidationError> {
    let raw = raw.trim();
    if raw.len() == 34 && raw.starts_with("HX") && raw[2..].bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(raw.to_owned())
    } else {
        Err(ValidationError::new("twilio_content_sid", "a Twilio Content SID is HX followed by 32 hexadecimal digits"))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TemplateCategory {
    Marketing,
    Utility,
    Authentication,
}

impl TemplateCategory {
    pub const ALL: [Self; 3] = [Self::Marketing, Self::Utility, Self::Authentication];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Marketing => "MARKETING",
            Self::Utility => "UTILITY",
            Self::Authentication => "AUTHENTICATION",
        }
    }

    /// Meta's spelling, in any case.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(raw.trim()))
            .ok_or_else(|| ValidationError::new("category", "category is one of MARKETING, UTILITY or AUTHENTICATION"))
    }
}

/// Where Meta's review of a template stands. Only approved templates can be sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TemplateStatus {
    Pending,
    Approved,
    Rejected,
    Paused,
    Disabled,
}

impl TemplateStatus {
    pub const ALL: [Self; 5] = [Self::Approved, Self::Pending, Self::Rejected, Self::Paused, Self::Disabled];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Approved => "APPROVED",
            Self::Rejected => "REJECTED",
            Self::Paused => "PAUSED",
            Self::Disabled => "DISABLED",
        }
    }

    /// Meta's spelling, in any case.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        Self::ALL.into_iter().find(|s| s.as_str().eq_ignore_ascii_case(raw.trim())).ok_or_else(|| {
            ValidationError::new("status", "status is one of APPROVED, PENDING, REJECTED, PAUSED or DISABLED")
        })
    }

    /// The status a `message_template_status_update` webhook's `event` means, if confab tracks
    /// it (`REINSTATED`: approved again; `FLAGGED` and others change nothing here).
    pub fn from_meta_event(event: &str) -> Option<Self> {
        match event {
            "REINSTATED" => Some(Self::Approved),
            other => Self::parse(other).ok(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Template {
    pub id: TemplateId,
    pub workspace_id: WorkspaceId,
    pub name: TemplateName,
    /// e.g. `en_US`
    pub language: String,
    pub category: TemplateCategory,
    pub status: TemplateStatus,
    /// Meta's `components` array, with `{{n}}` parameters in the texts.
    pub components: serde_json::Value,
    /// The same template approved in Twilio's Content API, for Twilio numbers (see
    /// [`parse_twilio_content_sid`]); without it the template is sent on Meta numbers only.
    pub twilio_content_sid: Option<String>,
}

impl Template {
    /// The text of the `BODY` component, with its `{{n}}` parameters; empty when it has none.
    pub fn body_text(&self) -> &str {
        self.components
            .as_array()
            .and_then(|components| {
                components.iter().find(|c| {
                    c.get("type").and_then(serde_json::Value::as_str).is_some_and(|t| t.eq_ignore_ascii_case("body"))
                })
            })
            .and_then(|body| body.get("text"))
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
    }

    /// Meta's `components` for a template whose only component is a body text.
    pub fn body_components(text: &str) -> serde_json::Value {
        serde_json::json!([{ "type": "BODY", "text": text }])
    }
}

/// How many `{{n}}` parameters a template text expects (the highest n).
pub fn parameter_count(text: &str) -> usize {
    let mut max = 0;
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        rest = &rest[start + 2..];
        if let Some(end) = rest.find("}}") {
            if let Ok(n) = rest[..end].trim().parse::<usize>() {
                max = max.max(n);
            }
            rest = &rest[end + 2..];
        } else {
            break;
        }
    }
    max
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_parameters() {
        assert!(TemplateName::parse("order_update_2").is_ok());
        assert!(TemplateName::parse("Order Update").is_err());
        assert!(TemplateName::parse("").is_err());
        assert_eq!(parameter_count("Hi {{1}}, your order {{2}} ships {{ 3 }}"), 3);
        assert_eq!(parameter_count("no params {{"), 0);
        assert_eq!(TemplateStatus::parse("approved").unwrap(), TemplateStatus::Approved);
        assert_eq!(TemplateStatus::from_meta_event("REINSTATED"), Some(TemplateStatus::Approved));
        assert_eq!(TemplateStatus::from_meta_event("FLAGGED"), None);
        assert_eq!(TemplateCategory::parse("Utility").unwrap(), TemplateCategory::Utility);
        assert!(parse_template_language("en_US").is_ok() && parse_template_language("en-US").is_err());
        assert_eq!(
            parse_twilio_content_sid(" HXb5b62575e6e4ff6129ad7c8efe1f983e ").unwrap(),
            "HXb5b62575e6e4ff6129ad7c8efe1f983e"
        );
        assert!(parse_twilio_content_sid("HXb5b62575").is_err());
        assert!(parse_twilio_content_sid("MXb5b62575e6e4ff6129ad7c8efe1f983e").is_err());
        let template = Template {
            id: TemplateId::new(),
            workspace_id: WorkspaceId::new(),
            name: TemplateName::parse("hello").unwrap(),
            language: "en".into(),
            category: TemplateCategory::Utility,
            status: TemplateStatus::Approved,
            components: Template::body_components("Hi {{1}}"),
            twilio_content_sid: None,
        };
        assert_eq!(template.body_text(), "Hi {{1}}");
    }
}
