//! Collects every field's validation error of a request, so one 422 answer lists them all
//! instead of making the caller fix them one at a time.

use super::ApiError;
use confab_domain::ValidationError;

#[derive(Default)]
pub struct FieldErrors(Vec<ValidationError>);

impl FieldErrors {
    /// The value if `result` is Ok; otherwise notes the error and returns `None`.
    pub fn check<T>(&mut self, result: Result<T, ValidationError>) -> Option<T> {
        result.map_err(|e| self.0.push(e)).ok()
    }

    pub fn push(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.push(ValidationError::new(field, message));
    }

    /// 422 with every noted error, or Ok when there were none.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.0))
        }
    }
}
