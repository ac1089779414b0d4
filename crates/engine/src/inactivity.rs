//! The inactivity sweep: ends conversations that have been silent longer than their
//! assistant's inactivity timeout (1–1440 minutes, default 30), so the customer's next message
//! starts a new conversation. (Post-conversation extraction will hang off this point.)

use confab_storage::{Store, StoreError};
use std::future::Future;
use std::sync::Arc;
use time::OffsetDateTime;

/// Conversations ended per store round trip.
const BATCH: u32 = 500;

/// Ends every conversation due to end at `now`; returns how many.
pub async fn sweep(store: &dyn Store, now: OffsetDateTime) -> Result<usize, StoreError> {
    let mut total = 0;
    loop {
        let ended = store.end_inactive(now, BATCH).await?;
        total += ended.len();
        if ended.len() < BATCH as usize {
            return Ok(total);
        }
    }
}

/// Sweeps every `every` until `shutdown` completes.
pub async fn run(store: Arc<dyn Store>, every: std::time::Duration, shutdown: impl Future<Output = ()>) {
    tokio::pin!(shutdown);
    loop {
        match sweep(store.as_ref(), OffsetDateTime::now_utc()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(ended = n, "inactive conversations ended"),
            Err(err) => tracing::error!(error = %err, "inactivity sweep failed"),
        }
        tokio::select! {
            () = &mut shutdown => return,
            () = tokio::time::sleep(every) => {}
        }
    }
}
