//! The other party of a conversation, and how channels identify one.

use crate::{CustomerId, PhoneNumber, WorkspaceId};
use serde::Serialize;
use time::OffsetDateTime;

/// How a channel names a customer. WhatsApp gives a phone `wa_id`, a business-scoped user id,
/// or both (either may be absent); the widget a visitor session; the API the caller's own
/// identifier.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum CustomerIdentity {
    Whatsapp { wa_id: Option<PhoneNumber>, business_scoped_user_id: Option<String> },
    External(String),
}

impl CustomerIdentity {
    /// Whether this identity names anyone at all.
    pub fn is_empty(&self) -> bool {
        match self {
            Self::Whatsapp { wa_id, business_scoped_user_id } => wa_id.is_none() && business_scoped_user_id.is_none(),
            Self::External(id) => id.is_empty(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Customer {
    pub id: CustomerId,
    pub workspace_id: WorkspaceId,
    pub phone: Option<PhoneNumber>,
    pub business_scoped_user_id: Option<String>,
    pub external_identifier: Option<String>,
    pub name: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}
