//! Group commit for any write that takes a batch: concurrent callers hand their items to one
//! task, which writes whatever has gathered in a single call (one transaction) and answers each
//! caller with its own outcomes. Nothing waits on a timer — a batch is simply what arrived while
//! the previous write ran — so a lone call is written as fast as without grouping, and under
//! load the number of transactions (the limit of a single SQLite writer, and of synchronous
//! commits on PostgreSQL) stops growing with the number of callers.
//!
//! A batch that fails as a whole is retried caller by caller, so one caller's error never
//! becomes another's. What is grouped must therefore be idempotent and give the same outcomes
//! whether written together or one caller after another (delivery statuses are: each is kept
//! once per message and status; inbound messages are too, see `ingest_batcher`).

use confab_storage::StoreError;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};

/// What a write answers: one outcome per item, in order.
pub type Outcomes<O> = Result<Vec<O>, StoreError>;

/// The batched write: all items of the group, and the newest `now` among its callers.
pub type WriteFn<I, O> =
    Arc<dyn Fn(Vec<I>, OffsetDateTime) -> Pin<Box<dyn Future<Output = Outcomes<O>> + Send>> + Send + Sync>;

struct Job<I, O> {
    items: Vec<I>,
    now: OffsetDateTime,
    reply: oneshot::Sender<Outcomes<O>>,
}

pub struct GroupCommit<I, O> {
    jobs: mpsc::Sender<Job<I, O>>,
}

impl<I: Clone + Send + 'static, O: Send + 'static> GroupCommit<I, O> {
    /// Starts the grouping task (it ends when the last handle is dropped); a group holds at
    /// most `max_items` items, unless a single call brings more.
    pub fn start(max_items: usize, write: WriteFn<I, O>) -> Self {
        let (jobs, receiver) = mpsc::channel(4_096);
        tokio::spawn(run(max_items, write, receiver));
        Self { jobs }
    }

    /// Writes `items`, grouped with whatever other callers bring meanwhile; answers their
    /// outcomes, in order.
    pub async fn write(&self, items: Vec<I>, now: OffsetDateTime) -> Outcomes<O> {
        let (reply, answer) = oneshot::channel();
        let stopped = || StoreError::Config("the group commit task has stopped".into());
        self.jobs.send(Job { items, now, reply }).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

async fn run<I: Clone, O>(max_items: usize, write: WriteFn<I, O>, mut receiver: mpsc::Receiver<Job<I, O>>) {
    while let Some(first) = receiver.recv().await {
        let mut count = first.items.len();
        let mut jobs = vec![first];
        while count < max_items {
            match receiver.try_recv() {
                Ok(job) => {
                    count += job.items.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        write_group(&write, jobs).await;
    }
}

async fn write_group<I: Clone, O>(write: &WriteFn<I, O>, mut jobs: Vec<Job<I, O>>) {
    if jobs.len() == 1 {
        if let Some(job) = jobs.pop() {
            let _ = job.reply.send(write(job.items, job.now).await);
        }
        return;
    }
    let now = jobs.iter().map(|j| j.now).max().unwrap_or_else(OffsetDateTime::now_utc);
    let all: Vec<I> = jobs.iter().flat_map(|j| j.items.iter().cloned()).collect();
    match write(all, now).await {
        Ok(outcomes) => {
            let mut outcomes = outcomes.into_iter();
            for job in jobs {
                let own: Vec<O> = outcomes.by_ref().take(job.items.len()).collect();
                let _ = job.reply.send(Ok(own));
            }
        }
        Err(err) => {
            tracing::warn!(error = %err, callers = jobs.len(), "a grouped write failed; writing its callers one by one");
            for job in jobs {
                let _ = job.reply.send(write(job.items, job.now).await);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A write that doubles each item, counts its calls, and fails any group holding a 0.
    fn doubling(calls: Arc<AtomicUsize>) -> WriteFn<i64, i64> {
        Arc::new(move |items: Vec<i64>, _now| {
            calls.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move {
                if items.len() > 1 && items.contains(&0) {
                    return Err(StoreError::Config("a zero in a group".into()));
                }
                Ok(items.into_iter().map(|i| i * 2).collect())
            })
        })
    }

    #[tokio::test]
    async fn each_caller_gets_its_own_outcomes_in_order() {
        let calls = Arc::new(AtomicUsize::new(0));
        let group = Arc::new(GroupCommit::start(1_000, doubling(calls.clone())));
        let now = OffsetDateTime::now_utc();
        let callers: Vec<_> = (0..50_i64)
            .map(|c| {
                let group = group.clone();
                tokio::spawn(async move { (c, group.write(vec![c * 10 + 1, c * 10 + 2], now).await) })
            })
            .collect();
        for caller in callers {
            let (c, outcomes) = caller.await.unwrap();
            assert_eq!(outcomes.unwrap(), vec![(c * 10 + 1) * 2, (c * 10 + 2) * 2]);
        }
        assert!(calls.load(Ordering::SeqCst) <= 50);
    }

    #[tokio::test]
    async fn a_failed_group_is_retried_caller_by_caller() {
        let calls = Arc::new(AtomicUsize::new(0));
        let write = doubling(calls.clone());
        let (reply_a, answer_a) = oneshot::channel();
        let (reply_b, answer_b) = oneshot::channel();
        let now = OffsetDateTime::now_utc();
        let group = vec![Job { items: vec![0], now, reply: reply_a }, Job { items: vec![3, 4], now, reply: reply_b }];
        write_group(&write, group).await;
        assert_eq!(answer_a.await.unwrap().unwrap(), vec![0], "alone, the zero is written");
        assert_eq!(answer_b.await.unwrap().unwrap(), vec![6, 8]);
        assert_eq!(calls.load(Ordering::SeqCst), 3, "the group, then each caller");
    }
}
