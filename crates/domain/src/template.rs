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

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TemplateCategory {
    Marketing,
    Utility,
    Authentication,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TemplateStatus {
    Pending,
    Approved,
    Rejected,
    Paused,
    Disabled,
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
    }
}
