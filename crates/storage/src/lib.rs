//! Storage: the store traits and their two implementations, SQLite (default, one machine) and
//! PostgreSQL (several `confab` processes sharing one database).
//!
//! Only this crate sees SQL. The URL scheme picks the backend ([`connect`]). Both backends run
//! the same migrations (one folder each, same file names) and pass the same conformance suite
//! (`tests/conformance.rs`). Two primitives everything else depends on live here:
//! idempotent ingest ([`ConversationStore::ingest`]) and conversation leases with fencing
//! tokens ([`WorkQueue`]).

mod booking_store;
mod error;
mod export;
mod http_tools;
mod ingest_plan;
mod knowledge;
mod metrics;
mod migrations;
mod outbound_jobs;
pub mod postgres;
mod precision;
mod rollup;
mod rows;
mod seed;
mod sessions;
mod settings_cache;
pub mod sqlite;
mod status_plan;
mod store;
mod templates;
mod values;

pub use booking_store::{BookingStore, NewBooking, BOOKING_SLOT_TAKEN};
pub use error::StoreError;
pub use export::{ExportCursor, ExportStore, ExportedMessage};
pub use http_tools::{HttpToolStore, HTTP_TOOL_NAME_TAKEN};
pub use knowledge::{
    fts5_query, search_terms, tsquery, DocumentWithContent, KnowledgeStore, NewChunk, NewDocument, MAX_QUERY_TERMS,
};
pub use metrics::{DailyMetrics, Metrics, MetricsFilter, MetricsStore};
pub use precision::to_stored_precision;
pub use seed::{SeedBatch, SeedConversation, SeedCustomer, SeedMessage, SeedStore};
pub use sessions::{NewSession, Session, SessionStore};
pub use store::*;
pub use templates::{TemplateDefinition, TemplateStore};

use std::sync::Arc;

/// Opens the database named by `url` (`sqlite://PATH`, `sqlite::memory:`, `postgres://…`),
/// creating a SQLite file and its folder if missing. Does not migrate: call
/// [`Store::migrate`].
pub async fn connect(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::SqliteStore::connect(url).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(postgres::PgStore::connect(url).await?))
    } else {
        Err(StoreError::Config(format!(
            "database_url must start with sqlite:// or postgres:// (got `{}`)",
            url.split(':').next().unwrap_or_default()
        )))
    }
}
