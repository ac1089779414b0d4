//! Group commit for ingest: concurrent webhook requests hand their messages to one task, which
//! stores whatever has gathered in a single transaction and answers each request with its own
//! outcomes. Nothing waits on a timer — a batch is simply what arrived while the previous
//! transaction ran — so a lone webhook is stored as fast as before, and under load the number
//! of transactions (the limit of a single SQLite writer, and of synchronous commits on
//! PostgreSQL) stops growing with the number of requests.
//!
//! A batch that fails as a whole is retried request by request, so one request's error never
//! becomes another's. Every write stays idempotent, so a request answered with an error can be
//! retried by its sender. The grouping itself is [`crate::group_commit`]'s.

use crate::group_commit::GroupCommit;
use async_trait::async_trait;
use confab_domain::{InboundMessage, IngestOutcome};
use confab_storage::{Store, StoreError};
use std::sync::Arc;
use time::OffsetDateTime;

/// Where ingest goes: straight to the store, or through the batcher.
#[async_trait]
pub trait IngestSink: Send + Sync {
    async fn ingest(&self, batch: Vec<InboundMessage>, now: OffsetDateTime) -> Result<Vec<IngestOutcome>, StoreError>;
}

/// Most messages stored in one transaction.
pub const MAX_BATCH_MESSAGES: usize = 2_000;

pub struct IngestBatcher {
    writes: GroupCommit<InboundMessage, IngestOutcome>,
}

impl IngestBatcher {
    /// Starts the batching task; it ends when the last handle is dropped.
    pub fn start(store: Arc<dyn Store>) -> Self {
        let writes = GroupCommit::start(
            MAX_BATCH_MESSAGES,
            Arc::new(move |messages: Vec<InboundMessage>, now| {
                let store = store.clone();
                Box::pin(async move { store.ingest(&messages, now).await })
            }),
        );
        Self { writes }
    }
}

#[async_trait]
impl IngestSink for IngestBatcher {
    async fn ingest(
        &self,
        messages: Vec<InboundMessage>,
        now: OffsetDateTime,
    ) -> Result<Vec<IngestOutcome>, StoreError> {
        self.writes.write(messages, now).await
    }
}

/// Ingest straight to the store, one transaction per call.
pub struct DirectIngest(pub Arc<dyn Store>);

#[async_trait]
impl IngestSink for DirectIngest {
    async fn ingest(&self, batch: Vec<InboundMessage>, now: OffsetDateTime) -> Result<Vec<IngestOutcome>, StoreError> {
        self.0.ingest(&batch, now).await
    }
}
