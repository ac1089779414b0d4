//! The SQLite backend: the default, one machine, one file.
//!
//! One writer connection serialises every write transaction (SQLite allows one writer at a
//! time anyway; doing it in-process avoids busy-waiting and lock-upgrade failures), and a pool
//! of reader connections serves queries concurrently under WAL. Times are stored as INTEGER
//! unix microseconds so comparisons and ordering are plain integer work.

mod bookings;
mod checkpoint;
mod conversations;
mod events;
mod export;
mod http_tools;
mod ingest;
mod knowledge;
mod metrics;
mod outbox;
mod packed_rows;
mod queue;
mod rollup;
mod seed;
mod sessions;
mod settings;
mod templates;
mod tenants;
mod turn_commits;

use crate::migrations::{migrator, Backend};
use crate::rows::RowExt;
use crate::settings_cache::SettingsCache;
use crate::{Result, Store, StoreError};
use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use uuid::Uuid;

/// How long settings are kept in memory: this process makes every change (each drops them at
/// once), so this only bounds how long a change from another process on the file goes unseen.
const SETTINGS_TIME_TO_LIVE: Duration = Duration::from_secs(5);

/// Prepared statements the writer keeps. Set-based writes bind one placeholder list per batch
/// size, so each size is its own statement: with sqlx's default of 100, ingest's handful of
/// statements over batch sizes of 1 to ~100 kept evicting each other and were prepared again.
const WRITER_STATEMENT_CACHE: usize = 1_000;

#[derive(Clone, Debug)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    /// Senders, assistants and price tables, read on every webhook and turn.
    settings: Arc<SettingsCache>,
    /// Held by every clone; the background checkpointer stops once the last is dropped.
    _alive: Arc<()>,
}

impl SqliteStore {
    /// Opens `sqlite://PATH` (creating the file and its folder) or `sqlite::memory:`.
    pub async fn connect(url: &str) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Config(format!("database_url `{url}` is not a SQLite URL: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            .pragma("temp_store", "memory")
            .pragma("wal_autocheckpoint", checkpoint::AUTOCHECKPOINT_PAGES);
        let in_memory = url.contains(":memory:");
        if !in_memory {
            if let Some(parent) = options.get_filename().parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(|e| {
                    StoreError::Config(format!("cannot create the database folder {}: {e}", parent.display()))
                })?;
            }
        }
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            // a ping is a round trip to the connection's own thread, in this process: it finds
            // nothing a statement would not, and the one writer cannot spare the time
            .test_before_acquire(false)
            .connect_with(options.clone().statement_cache_capacity(WRITER_STATEMENT_CACHE))
            .await?;
        let alive = Arc::new(());
        let reader = if in_memory {
            // every in-memory connection would be its own database
            writer.clone()
        } else {
            checkpoint::start(options.clone(), Arc::downgrade(&alive));
            SqlitePoolOptions::new()
                .max_connections(8)
                .min_connections(0)
                .test_before_acquire(false)
                .connect_with(options.read_only(true))
                .await?
        };
        Ok(Self { writer, reader, settings: Arc::new(SettingsCache::new(SETTINGS_TIME_TO_LIVE)), _alive: alive })
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn migrate(&self) -> Result<()> {
        migrator(Backend::Sqlite).await?.run(&self.writer).await?;
        // migration 0015 leaves the rollup of an existing history to be computed here
        let mut tx = self.writer.begin().await?;
        let pending: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM metrics_rollup_backfill").fetch_one(&mut *tx).await?;
        if pending > 0 {
            rollup::rebuild(&mut tx, None).await?;
            rollup::compact(&mut tx).await?;
            sqlx::query("DELETE FROM metrics_rollup_backfill").execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }

    fn backend(&self) -> &'static str {
        "sqlite"
    }
}

/// A time as stored: unix microseconds, UTC.
pub(crate) fn micros(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
}

fn from_micros(v: i64) -> Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(v) * 1_000)
        .map_err(|e| StoreError::Corrupt(format!("time {v}: {e}")))
}

impl RowExt for SqliteRow {
    fn uuid(&self, col: &str) -> Result<Uuid> {
        Ok(self.try_get(col)?)
    }
    fn opt_uuid(&self, col: &str) -> Result<Option<Uuid>> {
        Ok(self.try_get(col)?)
    }
    fn time(&self, col: &str) -> Result<OffsetDateTime> {
        from_micros(self.try_get(col)?)
    }
    fn opt_time(&self, col: &str) -> Result<Option<OffsetDateTime>> {
        self.try_get::<Option<i64>, _>(col)?.map(from_micros).transpose()
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
        match self.try_get::<Option<String>, _>(col)? {
            None => Ok(serde_json::Value::Null),
            Some(text) => serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("{col}: {e}"))),
        }
    }
}
