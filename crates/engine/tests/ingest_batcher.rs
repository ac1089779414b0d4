//! Group commit: many concurrent ingest calls through the batcher, against a real store.

#![allow(clippy::unwrap_used)]

mod support;

use confab_domain::*;
use confab_engine::ingest_batcher::{IngestBatcher, IngestSink};
use std::sync::Arc;
use support::Fixture;
use time::OffsetDateTime;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_each_get_their_own_outcomes() {
    let fx = Fixture::new(|_| {}).await;
    let batcher = Arc::new(IngestBatcher::start(fx.store.clone()));
    let now = OffsetDateTime::now_utc();
    // 40 requests of 3 messages; every request repeats one message of the request before it
    let requests: Vec<Vec<InboundMessage>> = (0..40)
        .map(|r| {
            let mut batch: Vec<InboundMessage> = (0..3)
                .map(|m| {
                    let mut i = fx.inbound(&format!("+1555000{:04}", r * 3 + m), "hi", now, true);
                    i.provider_message_id = Some(format!("wamid.{r}.{m}"));
                    i
                })
                .collect();
            if r > 0 {
                let mut again = fx.inbound(&format!("+1555000{:04}", (r - 1) * 3), "hi", now, true);
                again.provider_message_id = Some(format!("wamid.{}.0", r - 1));
                batch.push(again);
            }
            batch
        })
        .collect();
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|batch| {
            let batcher = batcher.clone();
            tokio::spawn(async move {
                let n = batch.len();
                let outcomes = batcher.ingest(batch, now).await.unwrap();
                assert_eq!(outcomes.len(), n, "a request gets exactly its own outcomes");
                outcomes
            })
        })
        .collect();
    let mut stored = 0;
    for task in tasks {
        for outcome in task.await.unwrap() {
            if let IngestOutcome::Stored { .. } = outcome {
                stored += 1;
            }
        }
    }
    assert_eq!(stored, 120, "each of the 120 distinct messages stored once, the 39 repeats not");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_failing_request_does_not_fail_the_others_in_its_group() {
    let fx = Fixture::new(|_| {}).await;
    let batcher = Arc::new(IngestBatcher::start(fx.store.clone()));
    let now = OffsetDateTime::now_utc();
    let tasks: Vec<_> = (0..20)
        .map(|r| {
            let mut message = fx.inbound(&format!("+1555100{r:04}"), "hi", now, true);
            if r == 7 {
                // names a conversation that does not exist: this request fails
                message.conversation_id = Some(ConversationId::new());
            }
            let batcher = batcher.clone();
            tokio::spawn(async move { (r, batcher.ingest(vec![message], now).await) })
        })
        .collect();
    for task in tasks {
        let (r, result) = task.await.unwrap();
        if r == 7 {
            assert!(result.is_err());
        } else {
            assert!(matches!(result.unwrap()[0], IngestOutcome::Stored { .. }), "request {r}");
        }
    }
}
