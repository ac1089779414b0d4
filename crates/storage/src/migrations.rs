//! The schema migrations of both backends, embedded in the binary. Each backend has its own
//! folder with the same file names; a new migration is added to both folders and listed here.

use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use std::borrow::Cow;

/// (version, description, SQLite SQL, PostgreSQL SQL)
const MIGRATIONS: &[(i64, &str, &str, &str)] = &[
    (
        1,
        "init",
        include_str!("../migrations/sqlite/0001_init.sql"),
        include_str!("../migrations/postgres/0001_init.sql"),
    ),
    (
        2,
        "webhooks",
        include_str!("../migrations/sqlite/0002_webhooks.sql"),
        include_str!("../migrations/postgres/0002_webhooks.sql"),
    ),
    (
        3,
        "outbox",
        include_str!("../migrations/sqlite/0003_outbox.sql"),
        include_str!("../migrations/postgres/0003_outbox.sql"),
    ),
    (
        4,
        "response_times",
        include_str!("../migrations/sqlite/0004_response_times.sql"),
        include_str!("../migrations/postgres/0004_response_times.sql"),
    ),
    (
        5,
        "soft_delete",
        include_str!("../migrations/sqlite/0005_soft_delete.sql"),
        include_str!("../migrations/postgres/0005_soft_delete.sql"),
    ),
    (
        6,
        "inactivity",
        include_str!("../migrations/sqlite/0006_inactivity.sql"),
        include_str!("../migrations/postgres/0006_inactivity.sql"),
    ),
    (
        7,
        "dashboard",
        include_str!("../migrations/sqlite/0007_dashboard.sql"),
        include_str!("../migrations/postgres/0007_dashboard.sql"),
    ),
    (
        8,
        "knowledge",
        include_str!("../migrations/sqlite/0008_knowledge.sql"),
        include_str!("../migrations/postgres/0008_knowledge.sql"),
    ),
    (
        9,
        "http_tools",
        include_str!("../migrations/sqlite/0009_http_tools.sql"),
        include_str!("../migrations/postgres/0009_http_tools.sql"),
    ),
    (
        10,
        "bookings",
        include_str!("../migrations/sqlite/0010_bookings.sql"),
        include_str!("../migrations/postgres/0010_bookings.sql"),
    ),
    (
        11,
        "price_tables",
        include_str!("../migrations/sqlite/0011_price_tables.sql"),
        include_str!("../migrations/postgres/0011_price_tables.sql"),
    ),
    (
        13,
        "extraction",
        include_str!("../migrations/sqlite/0013_extraction.sql"),
        include_str!("../migrations/postgres/0013_extraction.sql"),
    ),
    (
        14,
        "after_end",
        include_str!("../migrations/sqlite/0014_after_end.sql"),
        include_str!("../migrations/postgres/0014_after_end.sql"),
    ),
    (
        15,
        "metrics_rollup",
        include_str!("../migrations/sqlite/0015_metrics_rollup.sql"),
        include_str!("../migrations/postgres/0015_metrics_rollup.sql"),
    ),
    (
        16,
        "template_twilio_content_sid",
        include_str!("../migrations/sqlite/0016_template_twilio_content_sid.sql"),
        include_str!("../migrations/postgres/0016_template_twilio_content_sid.sql"),
    ),
    (
        17,
        "outbox_line",
        include_str!("../migrations/sqlite/0017_outbox_line.sql"),
        include_str!("../migrations/postgres/0017_outbox_line.sql"),
    ),
];

#[derive(Clone, Copy, Debug)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug)]
struct Embedded(Backend);

impl MigrationSource<'static> for Embedded {
    fn resolve(self) -> futures_core::future::BoxFuture<'static, Result<Vec<Migration>, BoxDynError>> {
        let migrations = MIGRATIONS
            .iter()
            .map(|(version, description, sqlite, postgres)| {
                let sql = match self.0 {
                    Backend::Sqlite => sqlite,
                    Backend::Postgres => postgres,
                };
                Migration::new(*version, Cow::Borrowed(description), MigrationType::Simple, Cow::Borrowed(sql), false)
            })
            .collect();
        Box::pin(async move { Ok(migrations) })
    }
}

pub(crate) async fn migrator(backend: Backend) -> Result<Migrator, sqlx::migrate::MigrateError> {
    Migrator::new(Embedded(backend)).await
}
