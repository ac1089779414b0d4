//! Group commit for ingest: concurrent webhook requests hand their messages to one task, which
//! stores whatever has gathered in a single transaction and answers each request with its own
//! outcomes. Nothing waits on a timer — a batch is simply what arrived while the previous
//! transaction ran — so a lone webhook is stored as fast as before, and under load the number
//! of transactions (the limit of a single SQLite writer, and of synchronous commits on
//! PostgreSQL) stops growing with the number of requests.
//!
//! A batch that fails as a whole is retried request by request, so one request's error never
//! becomes another's. Every write stays idempotent, so a request answered with an error can be
//! retried by its sender.

use async_trait::async_trait;
use confab_domain::{InboundMessage, IngestOutcome};
use confab_storage::{Store, StoreError};
use std::sync::Arc;
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};

/// Where ingest goes: straight to the store, or through the batcher.
#[async_trait]
pub trait IngestSink: Send + Sync {
    async fn ingest(&self, batch: Vec<InboundMessage>, now: OffsetDateTime) -> Result<Vec<IngestOutcome>, StoreError>;
}

/// Most messages stored in one transaction.
pub const MAX_BATCH_MESSAGES: usize = 2_000;

struct Job {
    messages: Vec<InboundMessage>,
    now: OffsetDateTime,
    reply: oneshot::Sender<Result<Vec<IngestOutcome>, StoreError>>,
}

#[derive(Clone)]
pub struct IngestBatcher {
    jobs: mpsc::Sender<Job>,
}

impl IngestBatcher {
    /// Starts the batching task; it ends when the last handle is dropped.
    pub fn start(store: Arc<dyn Store>) -> Self {
        let (jobs, receiver) = mpsc::channel(4_096);
        tokio::spawn(run(store, receiver));
        Self { jobs }
    }
}

#[async_trait]
impl IngestSink for IngestBatcher {
    async fn ingest(
        &self,
        messages: Vec<InboundMessage>,
        now: OffsetDateTime,
    ) -> Result<Vec<IngestOutcome>, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job { messages, now, reply })
            .await
            .map_err(|_| StoreError::Config("the ingest batcher has stopped".into()))?;
        answer.await.map_err(|_| StoreError::Config("the ingest batcher has stopped".into()))?
    }
}

async fn run(store: Arc<dyn Store>, mut receiver: mpsc::Receiver<Job>) {
    while let Some(first) = receiver.recv().await {
        let mut jobs = vec![first];
        let mut count = jobs[0].messages.len();
        while count < MAX_BATCH_MESSAGES {
            match receiver.try_recv() {
                Ok(job) => {
                    count += job.messages.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        store_group(store.as_ref(), jobs).await;
    }
}

async fn store_group(store: &dyn Store, jobs: Vec<Job>) {
    if jobs.len() == 1 {
        let job = jobs.into_iter().next().map(|j| (j.messages, j.now, j.reply));
        if let Some((messages, now, reply)) = job {
            let _ = reply.send(store.ingest(&messages, now).await);
        }
        return;
    }
    let now = jobs.iter().map(|j| j.now).max().unwrap_or_else(OffsetDateTime::now_utc);
    let all: Vec<InboundMessage> = jobs.iter().flat_map(|j| j.messages.iter().cloned()).collect();
    match store.ingest(&all, now).await {
        Ok(outcomes) => {
            let mut outcomes = outcomes.into_iter();
            for job in jobs {
                let own: Vec<IngestOutcome> = outcomes.by_ref().take(job.messages.len()).collect();
                let _ = job.reply.send(Ok(own));
            }
        }
        Err(err) => {
            tracing::warn!(error = %err, requests = jobs.len(), "a grouped ingest failed; storing its requests one by one");
            for job in jobs {
                let _ = job.reply.send(store.ingest(&job.messages, job.now).await);
            }
        }
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
