//! A form's problems, each next to the field it concerns: the API's validation errors (which
//! name their field) and the form's own parse errors, plus a general message for what no
//! single field owns (a conflict, say). Templates ask [`FormErrors::get`] per field.

use super::page::PageError;
use crate::http::ApiError;
use std::collections::BTreeMap;

#[derive(Debug, Default)]
pub struct FormErrors {
    by_field: BTreeMap<String, Vec<String>>,
    general: Option<String>,
}

impl FormErrors {
    pub fn push(&mut self, field: &str, message: impl Into<String>) {
        self.by_field.entry(field.to_string()).or_default().push(message.into());
    }

    /// The message for `field`, if it has one (several joined with "; ").
    pub fn get(&self, field: &str) -> Option<String> {
        self.by_field.get(field).map(|messages| messages.join("; "))
    }

    pub fn general(&self) -> Option<&str> {
        self.general.as_deref()
    }

    pub fn is_empty(&self) -> bool {
        self.by_field.is_empty() && self.general.is_none()
    }

    /// A failed save, as the form shows it: validation errors by field, a conflict or a bad
    /// request as the general message; anything else is not the form's to show.
    pub fn from_api(err: ApiError) -> Result<Self, PageError> {
        let mut errors = Self::default();
        match err {
            ApiError::Validation(list) => {
                for e in list {
                    errors.push(e.field, e.message);
                }
            }
            ApiError::BadRequest(message) => errors.general = Some(message),
            ApiError::Conflict { message, .. } | ApiError::ConflictWith { message, .. } => {
                errors.general = Some(message)
            }
            other => return Err(other.into()),
        }
        Ok(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use confab_domain::ValidationError;

    #[test]
    fn validation_errors_land_on_their_fields_and_others_are_not_the_forms() {
        let errors = FormErrors::from_api(ApiError::Validation(vec![
            ValidationError::new("name", "name is required"),
            ValidationError::new("name", "name is odd"),
            ValidationError::new("url", "url must be http"),
        ]))
        .unwrap();
        assert_eq!(errors.get("name").as_deref(), Some("name is required; name is odd"));
        assert_eq!(errors.get("url").as_deref(), Some("url must be http"));
        assert_eq!(errors.get("method"), None);
        assert!(!errors.is_empty() && errors.general().is_none());
        assert!(FormErrors::from_api(ApiError::NotFound("tool")).is_err());
    }
}
