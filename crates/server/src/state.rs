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
    /// Where webhooks' messages are stored: grouped into shared transactions under load.
    pub ingest: Arc<dyn confab_engine::ingest_batcher::IngestSink>,
    /// Where webhooks' delivery statuses are applied: grouped into shared transactions too.
    pub status_writes: Arc<confab_engine::whatsapp_inbound::StatusWrites>,
    /// Wakes the outbox sender when a message was queued.
    pub outbox_wake: Arc<tokio::sync::Notify>,
    /// Wakes an idle turn worker when a message wants a reply.
    pub turn_wake: Arc<tokio::sync::Notify>,
    /// Each committed turn's conversation: API callers wait here for their reply.
    pub turn_committed: tokio::sync::broadcast::Sender<confab_domain::ConversationId>,
    /// Conversations whose delivery statuses the webhooks applied: live dashboard pages refresh.
    pub deliveries: confab_engine::delivery_events::DeliveryEvents,
}

impl AppState {
    /// State with its own ingest batcher, and wake-ups and commit events nobody listens to
    /// yet: `serve` replaces those with its workers' own.
    pub fn new(store: Arc<dyn Store>, settings: Arc<Settings>, default_workspace: WorkspaceId) -> Self {
        Self {
            ingest: Arc::new(confab_engine::ingest_batcher::IngestBatcher::start(store.clone())),
            status_writes: Arc::new(confab_engine::whatsapp_inbound::status_writes(store.clone())),
            store,
            settings,
            default_workspace,
            outbox_wake: Arc::new(tokio::sync::Notify::new()),
            turn_wake: Arc::new(tokio::sync::Notify::new()),
            turn_committed: tokio::sync::broadcast::channel(1024).0,
            deliveries: confab_engine::delivery_events::channel(1024),
        }
    }
}
