//! People who log into the dashboard, their roles, and e-mail addresses.

use crate::{UserId, ValidationError, WorkspaceId};
use serde::{Deserialize, Serialize};
use std::fmt;
use time::OffsetDateTime;

/// What a user may do in a workspace. Ordered: each role can do all that the ones below it can.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserRole {
    /// Reads everything, changes nothing.
    Viewer,
    /// Also replies to customers and takes conversations over.
    Agent,
    /// Also configures assistants, senders, keys and users.
    Admin,
    Owner,
}

impl UserRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Agent => "agent",
            Self::Admin => "admin",
            Self::Owner => "owner",
        }
    }

    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        match s {
            "viewer" => Ok(Self::Viewer),
            "agent" => Ok(Self::Agent),
            "admin" => Ok(Self::Admin),
            "owner" => Ok(Self::Owner),
            _ => Err(ValidationError::new("role", "role must be one of owner, admin, agent, viewer")),
        }
    }

    pub fn can_reply(self) -> bool {
        self >= Self::Agent
    }

    pub fn can_configure(self) -> bool {
        self >= Self::Admin
    }
}

/// An e-mail address, trimmed and lower-cased; checked for one `@` with text on both sides and
/// a dot in the domain. (Deliverability is not our business here.)
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let value = input.trim().to_lowercase();
        let err = || ValidationError::new("email", "enter an e-mail address like name@example.com");
        if value.len() > 254 || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(err());
        }
        let (local, domain) = value.split_once('@').ok_or_else(err)?;
        if local.is_empty()
            || domain.contains('@')
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
        {
            return Err(err());
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Email {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Email> for String {
    fn from(value: Email) -> Self {
        value.0
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({})", self.0)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A dashboard user. The password hash is an argon2 PHC string, made by the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub workspace_id: WorkspaceId,
    pub email: Email,
    pub role: UserRole,
    pub password_hash: String,
    pub created_at: OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered() {
        assert!(UserRole::Owner.can_configure());
        assert!(UserRole::Agent.can_reply());
        assert!(!UserRole::Agent.can_configure());
        assert!(!UserRole::Viewer.can_reply());
        assert_eq!(UserRole::parse("admin").unwrap(), UserRole::Admin);
        assert!(UserRole::parse("root").is_err());
    }

    #[test]
    fn emails() {
        assert_eq!(Email::parse(" Ana@Example.COM ").unwrap().as_str(), "ana@example.com");
        for bad in ["", "ana", "ana@", "@example.com", "ana@example", "a b@example.com", "a@b@c.com", "a@.com"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }
}
