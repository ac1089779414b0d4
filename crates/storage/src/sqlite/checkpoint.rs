//! WAL checkpoints off the write path. SQLite's automatic checkpoint runs inside the commit
//! that crosses its threshold (1,000 pages by default), so one writer transaction in a few
//! hundred paid for copying the log into the database and its fsync, which showed up as ingest
//! latency spikes. Here a connection of its own runs a `PASSIVE` checkpoint every quarter
//! second (it takes no lock the writer or readers wait on), and the automatic one stays only
//! as a safety net for a log that grows past [`AUTOCHECKPOINT_PAGES`] anyway.
//!
//! A checkpoint still fsyncs the log and then the database file, and while it does, the
//! writer's commits stall too (measured: with this connection's fsyncs turned off, the stalls
//! were gone). How long grows with what changed since the last checkpoint, so checkpoints come
//! often and stay short (see [`EVERY`]).

use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use std::sync::Weak;
use std::time::Duration;

/// Pages the WAL may reach before a commit checkpoints by itself (64 MiB at 4 KiB pages).
pub(super) const AUTOCHECKPOINT_PAGES: &str = "16384";

/// How often the log is checkpointed. Under 1,000 answered messages a second (`confab bench
/// e2e`), a checkpoint every second took 40–60 ms and stalled every write that long, once a
/// second; every 250 ms each takes about 13 ms, and webhook acks' p99 halved (BENCHMARKS.md).
/// An idle database makes each a no-op.
const EVERY: Duration = Duration::from_millis(250);

/// Checkpoints the database of `options` every [`EVERY`] while `store` is alive.
pub(super) fn start(options: SqliteConnectOptions, store: Weak<()>) {
    tokio::spawn(async move {
        let pool = match SqlitePoolOptions::new().max_connections(1).connect_with(options).await {
            Ok(pool) => pool,
            Err(err) => {
                tracing::warn!(error = %err, "cannot open the WAL checkpoint connection; SQLite checkpoints on commit");
                return;
            }
        };
        let mut tick = tokio::time::interval(EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if store.upgrade().is_none() {
                break;
            }
            if let Err(err) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&pool).await {
                tracing::debug!(error = %err, "a background WAL checkpoint failed");
            }
        }
        pool.close().await;
    });
}
