//! API keys: bearer secrets scoped to one workspace, stored only as a SHA-256 hash and shown
//! once when made. Keys carry 256 bits of randomness, so a fast hash is the right lookup key
//! (a slow password hash would cost every API request and add nothing).

use crate::{ApiKeyId, Secret, WorkspaceId};
use serde::Serialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// Every key starts with this, so a leaked key is recognisable in a scanner.
pub const API_KEY_PREFIX: &str = "cfk_";

/// A freshly made key: the secret to show once, and what is stored.
#[derive(Debug)]
pub struct ApiKeySecret {
    pub secret: Secret,
    pub hash: String,
    /// The first characters, safe to show in lists so people can tell keys apart.
    pub display_prefix: String,
}

impl ApiKeySecret {
    /// Builds a key from 32 random bytes the caller drew from the OS.
    pub fn from_random(bytes: [u8; 32]) -> Self {
        let secret = format!("{API_KEY_PREFIX}{}", hex::encode(bytes));
        let display_prefix = secret[..API_KEY_PREFIX.len() + 6].to_string();
        Self { hash: hash_api_key(&secret), secret: Secret::new(secret), display_prefix }
    }
}

/// The stored form of a presented key.
pub fn hash_api_key(presented: &str) -> String {
    hex::encode(Sha256::digest(presented.as_bytes()))
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub display_prefix: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_hash_stably_and_differ() {
        let a = ApiKeySecret::from_random([1; 32]);
        let b = ApiKeySecret::from_random([2; 32]);
        assert!(a.secret.expose().starts_with(API_KEY_PREFIX));
        assert_eq!(a.hash, hash_api_key(a.secret.expose()));
        assert_ne!(a.hash, b.hash);
        assert!(a.secret.expose().starts_with(&a.display_prefix));
        assert!(!format!("{a:?}").contains(a.secret.expose()));
    }
}
