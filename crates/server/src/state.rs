//! What every request handler shares: the store and the settings.

use crate::config::Settings;
use confab_domain::WorkspaceId;
use confab_storage::Store;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub settings: Arc<Settings>,
    /// The workspace made on first start; webhooks for unknown numbers are kept under it.
    pub default_workspace: WorkspaceId,
    /// Wakes the outbox sender when a message was queued.
    pub outbox_wake: Arc<tokio::sync::Notify>,
}
