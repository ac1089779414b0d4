//! One module per CLI subcommand.

pub mod apikey;
pub mod bench;
pub mod demo;
pub mod migrate;
pub mod serve;
pub mod user;

use crate::config::{redact_url, Settings};
use anyhow::Context;
use confab_storage::Store;
use std::sync::Arc;

/// Opens and migrates the configured database, with an error that says what to check.
pub async fn open_store(settings: &Settings) -> anyhow::Result<Arc<dyn Store>> {
    let shown = redact_url(&settings.database_url);
    let store = confab_storage::connect(&settings.database_url)
        .await
        .with_context(|| format!("cannot open the database {shown}: check database_url / CONFAB_DATABASE_URL"))?;
    store.migrate().await.with_context(|| format!("cannot migrate the database {shown}"))?;
    Ok(store)
}
