//! The planner's statistics of the tables that grow with traffic, kept in step while they grow
//! fast. A prepared statement's generic plan is made once per connection from the statistics
//! at hand, and made again only when they change; autovacuum first analyzes a table a minute
//! or more after it starts to fill. A new database under load would run that long on plans
//! made for empty tables (sequential scans of `messages` at 1.1–1.7 ms a call where its unique
//! index takes 0.01–0.06 ms, in `pg_stat_statements` during `confab bench e2e`). Planning
//! every call instead cost a third of ingest's throughput (BENCHMARKS.md).

use crate::Result;
use sqlx::PgPool;

/// The tables every webhook and turn reads by key.
const GROWING_TABLES: &[&str] = &["messages", "conversations", "customers", "message_status_events"];

/// Below this many pages a table is read whole as fast as by an index, whatever the plan.
const MIN_PAGES: i64 = 16;

/// Analyzes each of [`GROWING_TABLES`] that holds at least [`MIN_PAGES`] and has more than
/// doubled since its statistics were gathered (never, for a new table); names them. The
/// sizes are the files' (exact at once), and the pages at the last gathering are
/// `pg_class.relpages`; doubling keeps the work to a few `ANALYZE`s per table as it grows.
pub(super) async fn refresh(pool: &PgPool) -> Result<Vec<String>> {
    let grown: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c \
         WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r' AND c.relname = ANY($1) \
           AND pg_relation_size(c.oid) / current_setting('block_size')::int >= $2 \
           AND pg_relation_size(c.oid) / current_setting('block_size')::int > 2 * GREATEST(c.relpages, 0) \
         ORDER BY c.relname",
    )
    .bind(GROWING_TABLES)
    .bind(MIN_PAGES)
    .fetch_all(pool)
    .await?;
    if !grown.is_empty() {
        // the names are ours (GROWING_TABLES), read back from the catalog
        sqlx::query(&format!("ANALYZE {}", grown.join(", "))).execute(pool).await?;
    }
    Ok(grown)
}
