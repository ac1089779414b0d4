//! Metrics compaction: folds the metric deltas every write appends into the per-day rollup
//! (`confab_storage` module `rollup`), every few seconds, so the metrics read a few daily rows
//! plus a short tail of deltas. Several processes may run it: the store lets one at a time
//! fold. Tests drive `Store::compact_metrics` directly.

use confab_storage::Store;
use std::future::Future;
use std::sync::Arc;

/// Compacts every `every` until `shutdown` completes.
pub async fn run(store: Arc<dyn Store>, every: std::time::Duration, shutdown: impl Future<Output = ()>) {
    tokio::pin!(shutdown);
    loop {
        match store.compact_metrics().await {
            Ok(folded) => tracing::debug!(folded, "metric deltas compacted"),
            Err(err) => tracing::error!(error = %err, "metrics compaction failed"),
        }
        tokio::select! {
            () = &mut shutdown => return,
            () = tokio::time::sleep(every) => {}
        }
    }
}
