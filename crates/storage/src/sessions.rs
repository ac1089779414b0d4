//! Dashboard sign-in state: login sessions and the one-time setup tokens that let the first
//! owner sign up. Only SHA-256 hashes of session and setup tokens are stored; the clear tokens
//! live in the browser's cookie and in the link `confab serve` prints.

use crate::{NewUser, Result};
use async_trait::async_trait;
use confab_domain::{User, UserId};
use time::OffsetDateTime;

/// A login session to store.
#[derive(Clone, Debug)]
pub struct NewSession {
    /// SHA-256 (hex) of the token in the session cookie.
    pub token_hash: String,
    pub user_id: UserId,
    /// The token every form and htmx POST of this session must carry.
    pub csrf_token: String,
    pub expires_at: OffsetDateTime,
}

/// A live session and whose it is.
#[derive(Clone, Debug)]
pub struct Session {
    pub user: User,
    pub csrf_token: String,
    pub expires_at: OffsetDateTime,
}

#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Stores a session (and forgets the sessions that expired before `now`).
    async fn create_session(&self, session: &NewSession, now: OffsetDateTime) -> Result<()>;
    /// The session with this token hash, if it has not expired at `now`.
    async fn session_by_hash(&self, token_hash: &str, now: OffsetDateTime) -> Result<Option<Session>>;
    /// Logs the session out; unknown hashes are ignored.
    async fn delete_session(&self, token_hash: &str) -> Result<()>;

    /// Stores a setup token that lets one owner sign up until `expires_at`.
    async fn create_setup_token(&self, token_hash: &str, expires_at: OffsetDateTime, now: OffsetDateTime)
        -> Result<()>;
    /// Whether the token can still be used: unused, not expired, and no user exists yet.
    async fn setup_token_is_usable(&self, token_hash: &str, now: OffsetDateTime) -> Result<bool>;
    /// In one transaction: uses the token up and creates `user`, only while the token is usable
    /// (see [`setup_token_is_usable`](Self::setup_token_is_usable)); `None` otherwise.
    async fn redeem_setup_token(&self, token_hash: &str, user: NewUser, now: OffsetDateTime) -> Result<Option<User>>;
}
