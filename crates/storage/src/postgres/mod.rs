//! The PostgreSQL backend: the scale-out engine, several `confab` processes sharing one
//! database (DESIGN §4).
//!
//! This module owns the pool, migrations, the row mapping ([`RowExt`] for [`PgRow`]: times are
//! native `timestamptz`, ids `uuid`, JSON columns `jsonb`) and the retry of transactions that
//! PostgreSQL aborted for a deadlock or a serialization failure. Every write runs under READ
//! COMMITTED with explicit row locks; the files beside it mirror the SQLite backend's.

mod bookings;
mod conversations;
mod events;
mod export;
mod http_tools;
mod ingest;
mod knowledge;
mod metrics;
mod outbox;
mod queue;
mod rollup;
mod seed;
mod sessions;
mod settings;
mod statistics;
mod templates;
mod tenants;
pub mod testing;

use crate::migrations::{migrator, Backend};
use crate::rows::RowExt;
use crate::settings_cache::SettingsCache;
use crate::{Result, Store, StoreError};
use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::{PgPool, Row};
use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;
use time::OffsetDateTime;
use uuid::Uuid;

/// Connections per process; several processes share the server's `max_connections` (100 by
/// default). Under load every turn reads its conversation while group commits hold a
/// connection for their transaction: with 10, status webhooks queued for a connection and only
/// about a third of them were answered in time (`confab bench e2e --postgres`).
const MAX_CONNECTIONS: u32 = 32;

/// How many times, in all, a transaction is tried while PostgreSQL aborts it as a deadlock
/// victim (or for a serialization failure), before the error reaches the caller.
const TRANSIENT_ATTEMPTS: u32 = 3;

/// How long settings are kept in memory. This process drops them at each change it makes;
/// a change another process of the deployment makes is seen within this.
const SETTINGS_TIME_TO_LIVE: std::time::Duration = std::time::Duration::from_secs(1);

#[derive(Clone, Debug)]
pub struct PgStore {
    pool: PgPool,
    /// Senders, assistants and price tables, read on every webhook and turn.
    settings: Arc<SettingsCache>,
}

impl PgStore {
    /// Opens a pool on `postgres://…` (or `postgresql://…`). Connections open lazily after the
    /// first, which checks the URL and the server now rather than at the first query.
    pub async fn connect(url: &str) -> Result<Self> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Config(format!("database_url is not a PostgreSQL URL: {e}")))?;
        let pool = PgPoolOptions::new().max_connections(MAX_CONNECTIONS).connect_with(options).await?;
        Ok(Self { pool, settings: Arc::new(SettingsCache::new(SETTINGS_TIME_TO_LIVE)) })
    }
}

#[async_trait]
impl Store for PgStore {
    async fn migrate(&self) -> Result<()> {
        // sqlx holds an advisory lock while it migrates, so processes starting together are safe
        migrator(Backend::Postgres).await?.run(&self.pool).await?;
        // migration 0015 leaves the rollup of an existing history to be computed here, once:
        // a process starting meanwhile waits on the row and then finds it gone
        let mut tx = self.pool.begin().await?;
        let pending: Vec<i64> =
            sqlx::query_scalar("DELETE FROM metrics_rollup_backfill RETURNING pending").fetch_all(&mut *tx).await?;
        if !pending.is_empty() {
            rollup::rebuild(&mut tx, None).await?;
            rollup::compact(&mut tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn refresh_statistics(&self) -> Result<Vec<String>> {
        statistics::refresh(&self.pool).await
    }
}

/// Runs `attempt` (one whole transaction) again while PostgreSQL aborts it as a deadlock victim
/// or for a serialization failure. Only for transactions that are safe to repeat, such as
/// idempotent ingest: the aborted attempt left nothing behind.
async fn retry_transient<T, F, Fut>(mut attempt: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let mut tries = 1;
    loop {
        match attempt().await {
            Err(err) if tries < TRANSIENT_ATTEMPTS && is_transient(&err) => {
                tracing::debug!(error = %err, tries, "retrying a transaction PostgreSQL aborted");
                tries += 1;
            }
            other => return other,
        }
    }
}

/// `deadlock_detected` or `serialization_failure`.
fn is_transient(err: &StoreError) -> bool {
    match err {
        StoreError::Database(sqlx::Error::Database(db)) => matches!(db.code().as_deref(), Some("40P01" | "40001")),
        _ => false,
    }
}

impl RowExt for PgRow {
    fn uuid(&self, col: &str) -> Result<Uuid> {
        Ok(self.try_get(col)?)
    }
    fn opt_uuid(&self, col: &str) -> Result<Option<Uuid>> {
        Ok(self.try_get(col)?)
    }
    fn time(&self, col: &str) -> Result<OffsetDateTime> {
        Ok(self.try_get(col)?)
    }
    fn opt_time(&self, col: &str) -> Result<Option<OffsetDateTime>> {
        Ok(self.try_get(col)?)
    }
    fn text(&self, col: &str) -> Result<String> {
        Ok(self.try_get(col)?)
    }
    fn opt_text(&self, col: &str) -> Result<Option<String>> {
        Ok(self.try_get(col)?)
    }
    fn int(&self, col: &str) -> Result<i64> {
        Ok(self.try_get(col)?)
    }
    fn opt_int(&self, col: &str) -> Result<Option<i64>> {
        Ok(self.try_get(col)?)
    }
    fn opt_float(&self, col: &str) -> Result<Option<f64>> {
        Ok(self.try_get(col)?)
    }
    fn boolean(&self, col: &str) -> Result<bool> {
        Ok(self.try_get(col)?)
    }
    fn bytes(&self, col: &str) -> Result<Vec<u8>> {
        Ok(self.try_get(col)?)
    }
    fn json(&self, col: &str) -> Result<serde_json::Value> {
        Ok(self.try_get::<Option<serde_json::Value>, _>(col)?.unwrap_or(serde_json::Value::Null))
    }
}
