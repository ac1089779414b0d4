//! `confab migrate`: bring the database schema up to date and exit.

use crate::config::{redact_url, Settings};

pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let store = super::open_store(&settings).await?;
    println!("database {} ({}) is up to date", redact_url(&settings.database_url), store.backend());
    Ok(())
}
