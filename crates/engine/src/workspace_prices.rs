//! A workspace's own price table: what the operator stored (token prices per model, channel
//! fees), read for each turn so an edit applies to the next answer. Without one, callers use
//! their default table.

use confab_assistant::PriceTable;
use confab_domain::WorkspaceId;
use confab_storage::{Store, StoreError};

/// The workspace's stored table, or `None` when it has none (or what is stored no longer
/// reads as a table — said in the log, and the default applies).
pub async fn load(store: &dyn Store, workspace_id: WorkspaceId) -> Result<Option<PriceTable>, StoreError> {
    let Some(stored) = store.price_table(workspace_id).await? else { return Ok(None) };
    match serde_json::from_value(stored) {
        Ok(table) => Ok(Some(table)),
        Err(err) => {
            tracing::warn!(%workspace_id, error = %err, "the workspace's price table does not read: using the defaults");
            Ok(None)
        }
    }
}
