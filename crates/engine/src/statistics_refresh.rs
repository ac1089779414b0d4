//! Statistics refresh: every few seconds, asks the store to refresh the query planner's
//! statistics of tables that grew fast since they were gathered (`Store::refresh_statistics`;
//! on PostgreSQL, a new database filling under load; elsewhere nothing). Tests drive the store
//! call directly.

use confab_storage::Store;
use std::future::Future;
use std::sync::Arc;

/// Refreshes every `every` until `shutdown` completes.
pub async fn run(store: Arc<dyn Store>, every: std::time::Duration, shutdown: impl Future<Output = ()>) {
    tokio::pin!(shutdown);
    loop {
        match store.refresh_statistics().await {
            Ok(tables) if !tables.is_empty() => tracing::debug!(?tables, "planner statistics refreshed"),
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, "refreshing the planner's statistics failed"),
        }
        tokio::select! {
            () = &mut shutdown => return,
            () = tokio::time::sleep(every) => {}
        }
    }
}
