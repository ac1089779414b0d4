//! Which business number a webhook change is for: `value.metadata`.
//!
//! Every message, status and echo carries the `phone_number_id` of its change, which is how
//! the server finds the sender (and so the workspace and assistant). This module owns reading
//! that routing key; a change without one cannot be routed and its items are set aside.

use super::json_fields::{id_field, object_field, text_field, Object};

/// The business number of one change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Routing {
    pub phone_number_id: String,
    pub display_phone_number: Option<String>,
}

impl Routing {
    /// `value.metadata.{phone_number_id, display_phone_number}`; `None` without a phone-number id.
    pub(crate) fn of_change(value: &Object) -> Option<Self> {
        let metadata = object_field(value, "metadata")?;
        Some(Self {
            phone_number_id: id_field(metadata, "phone_number_id")?,
            display_phone_number: text_field(metadata, "display_phone_number"),
        })
    }

    /// `metadata.phone_number_id` alone, for changes that may or may not carry metadata.
    pub(crate) fn phone_number_id_of(value: Option<&Object>) -> Option<String> {
        value.and_then(Self::of_change).map(|r| r.phone_number_id)
    }
}
