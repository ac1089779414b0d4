//! Dashboard sessions and setup tokens on SQLite.

use super::{micros, SqliteStore};
use crate::rows;
use crate::{NewSession, NewUser, Result, Session, SessionStore};
use async_trait::async_trait;
use confab_domain::{User, UserId};
use sqlx::Row;
use time::OffsetDateTime;

#[async_trait]
impl SessionStore for SqliteStore {
    async fn create_session(&self, session: &NewSession, now: OffsetDateTime) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        sqlx::query("DELETE FROM dashboard_sessions WHERE expires_at <= $1")
            .bind(micros(now))
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO dashboard_sessions (token_hash, user_id, csrf_token, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&session.token_hash)
        .bind(session.user_id.as_uuid())
        .bind(&session.csrf_token)
        .bind(micros(now))
        .bind(micros(session.expires_at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn session_by_hash(&self, token_hash: &str, now: OffsetDateTime) -> Result<Option<Session>> {
        let row = sqlx::query(
            "SELECT u.id, u.workspace_id, u.email, u.role, u.password_hash, u.created_at, s.csrf_token, \
             s.expires_at FROM dashboard_sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2",
        )
        .bind(token_hash)
        .bind(micros(now))
        .fetch_optional(&self.reader)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let expires_at: i64 = row.try_get("expires_at")?;
        Ok(Some(Session {
            user: rows::user(&row)?,
            csrf_token: row.try_get("csrf_token")?,
            expires_at: super::from_micros(expires_at)?,
        }))
    }

    async fn delete_session(&self, token_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM dashboard_sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn create_setup_token(
        &self,
        token_hash: &str,
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<()> {
        sqlx::query("INSERT INTO setup_tokens (token_hash, created_at, expires_at) VALUES ($1, $2, $3)")
            .bind(token_hash)
            .bind(micros(now))
            .bind(micros(expires_at))
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn setup_token_is_usable(&self, token_hash: &str, now: OffsetDateTime) -> Result<bool> {
        let usable: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM setup_tokens WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 \
             AND NOT EXISTS (SELECT 1 FROM users)",
        )
        .bind(token_hash)
        .bind(micros(now))
        .fetch_one(&self.reader)
        .await?;
        Ok(usable > 0)
    }

    async fn redeem_setup_token(&self, token_hash: &str, user: NewUser, now: OffsetDateTime) -> Result<Option<User>> {
        let mut tx = self.writer.begin().await?;
        let used = sqlx::query(
            "UPDATE setup_tokens SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 \
             AND NOT EXISTS (SELECT 1 FROM users)",
        )
        .bind(token_hash)
        .bind(micros(now))
        .execute(&mut *tx)
        .await?;
        if used.rows_affected() == 0 {
            return Ok(None);
        }
        let user = User {
            id: UserId::new(),
            workspace_id: user.workspace_id,
            email: user.email,
            role: user.role,
            password_hash: user.password_hash,
            created_at: crate::precision::now(),
        };
        sqlx::query(
            "INSERT INTO users (id, workspace_id, email, role, password_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(user.id.as_uuid())
        .bind(user.workspace_id.as_uuid())
        .bind(user.email.as_str())
        .bind(user.role.as_str())
        .bind(&user.password_hash)
        .bind(micros(user.created_at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(user))
    }
}
