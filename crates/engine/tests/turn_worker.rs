//! The turn worker driven step by step against a real SQLite store, with a manual clock.

#![allow(clippy::unwrap_used)]

mod support;

use async_trait::async_trait;
use confab_domain::*;
use confab_engine::clock::ManualClock;
use confab_engine::offline_responder::{OfflineResponder, NO_LLM_NOTE};
use confab_engine::responder::{Responder, TurnInput, TurnOutcome};
use confab_engine::turn_worker::{StepOutcome, TurnPolicy, TurnWorker};
use confab_storage::*;
use std::sync::{Arc, Mutex};
use support::Fixture;
use time::{Duration, OffsetDateTime};
use tokio::sync::Notify;

/// Answers "re: <the pending texts>" and records what each turn was given.
#[derive(Default)]
struct Echo {
    turns: Mutex<Vec<Vec<String>>>,
}

#[async_trait]
impl Responder for Echo {
    async fn respond(&self, input: TurnInput<'_>) -> TurnOutcome {
        let texts: Vec<String> = input.pending.iter().map(|m| m.content.clone()).collect();
        self.turns.lock().unwrap().push(texts.clone());
        TurnOutcome {
            messages: vec![NewMessage::text(Role::Assistant, format!("re: {}", texts.join(" + ")))],
            ..Default::default()
        }
    }
}

/// Waits for the gate before answering, like a worker stuck in a slow LLM call.
struct Stalled {
    entered: Arc<Notify>,
    gate: Arc<Notify>,
}

#[async_trait]
impl Responder for Stalled {
    async fn respond(&self, _: TurnInput<'_>) -> TurnOutcome {
        self.entered.notify_one();
        self.gate.notified().await;
        TurnOutcome { messages: vec![NewMessage::text(Role::Assistant, "late answer")], ..Default::default() }
    }
}

fn worker(fx: &Fixture, responder: Arc<dyn Responder>, clock: Arc<ManualClock>, owner: &str) -> TurnWorker {
    TurnWorker::new(fx.store.clone(), responder, clock, owner, TurnPolicy::default(), Arc::new(Notify::new()))
}

fn assistant_texts(messages: &[Message]) -> Vec<&str> {
    messages.iter().filter(|m| m.role == Role::Assistant).map(|m| m.content.as_str()).collect()
}

#[tokio::test]
async fn a_burst_inside_the_response_delay_becomes_one_turn() {
    let fx = Fixture::new(|a| a.response_delay = ResponseDelay::from_millis(5_000).unwrap()).await;
    let start = OffsetDateTime::now_utc();
    let clock = Arc::new(ManualClock::new(start));
    let echo = Arc::new(Echo::default());
    let w = worker(&fx, echo.clone(), clock.clone(), "w1");
    let conv = fx.customer_writes("+16505551234", "hi", start).await;
    fx.customer_writes("+16505551234", "I have a question", start + Duration::seconds(1)).await;
    fx.customer_writes("+16505551234", "about my order", start + Duration::seconds(2)).await;
    clock.advance(Duration::seconds(6));
    assert_eq!(w.step().await.unwrap(), StepOutcome::Idle, "the delay restarts with each message");
    clock.advance(Duration::seconds(1));
    assert_eq!(w.step().await.unwrap(), StepOutcome::Committed(conv));
    assert_eq!(w.step().await.unwrap(), StepOutcome::Idle);
    assert_eq!(*echo.turns.lock().unwrap(), [vec!["hi", "I have a question", "about my order"]]);
    let messages = fx.messages(conv).await;
    assert_eq!(assistant_texts(&messages), ["re: hi + I have a question + about my order"]);
    let reply = messages.iter().find(|m| m.role == Role::Assistant).unwrap();
    assert_eq!(reply.status, DeliveryStatus::Queued, "waiting in the outbox");
}

#[tokio::test]
async fn conversations_run_in_parallel_each_answered_in_order() {
    let fx = Fixture::new(|_| {}).await;
    let start = OffsetDateTime::now_utc();
    let clock = Arc::new(ManualClock::new(start));
    let echo = Arc::new(Echo::default());
    let workers: Vec<_> =
        (0..2).map(|i| Arc::new(worker(&fx, echo.clone(), clock.clone(), &format!("w{i}")))).collect();
    let a = fx.customer_writes("+16505550001", "a1", start).await;
    let b = fx.customer_writes("+16505550002", "b1", start).await;
    let steps: Vec<_> = workers
        .iter()
        .map(|w| {
            let w = w.clone();
            tokio::spawn(async move { w.step().await.unwrap() })
        })
        .collect();
    let mut done = Vec::new();
    for step in steps {
        done.push(step.await.unwrap());
    }
    assert!(done.contains(&StepOutcome::Committed(a)) && done.contains(&StepOutcome::Committed(b)), "{done:?}");
    fx.customer_writes("+16505550001", "a2", start + Duration::seconds(1)).await;
    clock.advance(Duration::seconds(1));
    assert_eq!(workers[0].step().await.unwrap(), StepOutcome::Committed(a));
    assert_eq!(assistant_texts(&fx.messages(a).await), ["re: a1", "re: a2"]);
    assert_eq!(assistant_texts(&fx.messages(b).await), ["re: b1"]);
}

#[tokio::test]
async fn a_stalled_worker_cannot_commit_after_another_took_over() {
    let fx = Fixture::new(|_| {}).await;
    let start = OffsetDateTime::now_utc();
    let clock = Arc::new(ManualClock::new(start));
    let (entered, gate) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let slow = Arc::new(worker(
        &fx,
        Arc::new(Stalled { entered: entered.clone(), gate: gate.clone() }),
        clock.clone(),
        "slow",
    ));
    let echo = Arc::new(Echo::default());
    let fast = worker(&fx, echo.clone(), clock.clone(), "fast");
    let conv = fx.customer_writes("+16505551234", "hello?", start).await;

    let stuck = {
        let slow = slow.clone();
        tokio::spawn(async move { slow.step().await.unwrap() })
    };
    entered.notified().await; // the slow worker holds the lease and is stuck answering
    clock.advance(TurnPolicy::default().lease + Duration::seconds(1));
    assert_eq!(fast.step().await.unwrap(), StepOutcome::Committed(conv), "the turn is redone once");
    gate.notify_one();
    assert_eq!(stuck.await.unwrap(), StepOutcome::LeaseLost(conv), "the late commit is refused");
    assert_eq!(assistant_texts(&fx.messages(conv).await), ["re: hello?"], "no duplicate, no interleaving");
}

#[tokio::test]
async fn without_an_llm_the_offline_responder_hands_over_deliberately() {
    let fx = Fixture::new(|a| a.fallback_message = Some("Thanks! Our team replies within the hour.".into())).await;
    let start = OffsetDateTime::now_utc();
    let clock = Arc::new(ManualClock::new(start));
    let w = worker(&fx, Arc::new(OfflineResponder::new()), clock.clone(), "w");
    let conv = fx.customer_writes("+16505551234", "can I change my booking?", start).await;
    assert_eq!(w.step().await.unwrap(), StepOutcome::Committed(conv));
    let messages = fx.messages(conv).await;
    assert_eq!(assistant_texts(&messages), ["Thanks! Our team replies within the hour."]);
    assert!(messages.iter().any(|m| m.role == Role::System && m.content == NO_LLM_NOTE));
    assert!(!fx.store.get_conversation(fx.ws, conv).await.unwrap().ai_enabled, "handed to a person");
    fx.customer_writes("+16505551234", "hello?", start + Duration::seconds(5)).await;
    clock.advance(Duration::minutes(1));
    assert_eq!(w.step().await.unwrap(), StepOutcome::Idle, "a person answers from now on");
}

#[tokio::test]
async fn long_whatsapp_replies_are_split_into_parts() {
    struct Long;
    #[async_trait]
    impl Responder for Long {
        async fn respond(&self, _: TurnInput<'_>) -> TurnOutcome {
            let paragraph = "word ".repeat(500);
            let text = [paragraph.trim(); 4].join("\n\n");
            let mut reply = NewMessage::text(Role::Assistant, text);
            reply.cost = MicroUsd(900);
            TurnOutcome { messages: vec![reply], ..Default::default() }
        }
    }
    let fx = Fixture::new(|_| {}).await;
    let start = OffsetDateTime::now_utc();
    let w = worker(&fx, Arc::new(Long), Arc::new(ManualClock::new(start)), "w");
    let conv = fx.customer_writes("+16505551234", "tell me everything", start).await;
    w.step().await.unwrap();
    let messages = fx.messages(conv).await;
    let parts: Vec<_> = messages.iter().filter(|m| m.role == Role::Assistant).collect();
    // four 2,499-character paragraphs: no two fit in 4096, so each goes whole, on its own
    let paragraph = "word ".repeat(500);
    assert_eq!(parts.len(), 4);
    assert!(parts.iter().all(|m| m.content == paragraph.trim()), "split on paragraph boundaries");
    assert_eq!(parts.iter().map(|m| m.cost.0).sum::<i64>(), 900, "the cost is counted once");
}

#[tokio::test]
async fn a_conversation_whose_assistant_was_deleted_is_cleared_not_retried_forever() {
    let fx = Fixture::new(|_| {}).await;
    let start = OffsetDateTime::now_utc();
    let gone = fx.store.create_assistant(NewAssistant::new(fx.ws, "Old desk", "Help.")).await.unwrap();
    let new = NewConversation {
        workspace_id: fx.ws,
        assistant_id: gone.id,
        kind: ConversationType::Api,
        customer_identifier: Some("crm-1".into()),
        variables: serde_json::Map::new(),
        first_message: None,
    };
    let conv = fx.store.create_conversation(new, start).await.unwrap();
    fx.store.delete_assistant(fx.ws, gone.id).await.unwrap();
    let mut message = fx.inbound("+16505551234", "anyone?", start, true);
    message.conversation_type = ConversationType::Api;
    message.sender_id = None;
    message.conversation_id = Some(conv.id);
    fx.store.ingest(&[message], start).await.unwrap();
    let w = worker(&fx, Arc::new(Echo::default()), Arc::new(ManualClock::new(start)), "w");
    assert_eq!(w.step().await.unwrap(), StepOutcome::Committed(conv.id));
    assert_eq!(w.step().await.unwrap(), StepOutcome::Idle, "the work is gone");
    assert!(assistant_texts(&fx.messages(conv.id).await).is_empty());
}

/// Answers only once `parties` turns are waiting for it at the same time.
struct Gathering {
    gate: tokio::sync::Barrier,
}

#[async_trait]
impl Responder for Gathering {
    async fn respond(&self, _: TurnInput<'_>) -> TurnOutcome {
        self.gate.wait().await;
        TurnOutcome { messages: vec![NewMessage::text(Role::Assistant, "together")], ..Default::default() }
    }
}

#[tokio::test]
async fn running_it_answers_due_conversations_side_by_side_as_soon_as_it_is_woken() {
    let fx = Fixture::new(|_| {}).await;
    let start = OffsetDateTime::now_utc();
    let clock = Arc::new(ManualClock::new(start));
    let responder = Arc::new(Gathering { gate: tokio::sync::Barrier::new(2) });
    // it never polls during the test: only the wake-up can start the turns
    let policy = TurnPolicy { idle_poll: std::time::Duration::from_secs(3_600), ..TurnPolicy::default() };
    let (committed, mut commits) = tokio::sync::broadcast::channel(16);
    let w = Arc::new(
        TurnWorker::new(fx.store.clone(), responder, clock, "w", policy, Arc::new(Notify::new()))
            .with_commit_events(committed),
    );
    let wake = w.waker();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(w.run(4, async move {
        let _ = stopped.await;
    }));
    let a = fx.customer_writes("+16505551234", "hi", start).await;
    let b = fx.customer_writes("+16505554321", "hello", start).await;
    wake.notify_one();
    // one turn at a time, the first would wait at the gate for ever: the timeout only turns
    // that hang into a failure
    let mut answered = Vec::new();
    for _ in 0..2 {
        let commit = tokio::time::timeout(std::time::Duration::from_secs(60), commits.recv());
        answered.push(commit.await.expect("both turns ran at once").unwrap());
    }
    assert!(answered.contains(&a) && answered.contains(&b), "{answered:?}");
    stop.send(()).unwrap();
    running.await.unwrap();
    assert_eq!(assistant_texts(&fx.messages(a).await), ["together"]);
}

/// Says when a turn reaches it, then waits for a permit before answering.
struct Held {
    entered: tokio::sync::mpsc::UnboundedSender<()>,
    release: Arc<tokio::sync::Semaphore>,
}

#[async_trait]
impl Responder for Held {
    async fn respond(&self, _: TurnInput<'_>) -> TurnOutcome {
        self.entered.send(()).unwrap();
        self.release.acquire().await.unwrap().forget();
        TurnOutcome { messages: vec![NewMessage::text(Role::Assistant, "done")], ..Default::default() }
    }
}

#[tokio::test]
async fn running_it_claims_no_more_than_its_free_turn_slots_and_a_freed_slot_takes_the_next() {
    let fx = Fixture::new(|_| {}).await;
    let start = OffsetDateTime::now_utc();
    let clock = Arc::new(ManualClock::new(start));
    let (entered, mut turns_entered) = tokio::sync::mpsc::unbounded_channel();
    let release = Arc::new(tokio::sync::Semaphore::new(0));
    let responder = Arc::new(Held { entered, release: release.clone() });
    // it never polls during the test: only wake-ups start turns
    let policy = TurnPolicy { idle_poll: std::time::Duration::from_secs(3_600), ..TurnPolicy::default() };
    let (committed, mut commits) = tokio::sync::broadcast::channel(16);
    let w = Arc::new(
        TurnWorker::new(fx.store.clone(), responder, clock, "w", policy, Arc::new(Notify::new()))
            .with_commit_events(committed),
    );
    let wake = w.waker();
    let mut conversations = Vec::new();
    for phone in ["+16505550001", "+16505550002", "+16505550003"] {
        conversations.push(fx.customer_writes(phone, "hi", start).await);
    }
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(w.run(2, async move {
        let _ = stopped.await;
    }));
    wake.notify_one();
    // the timeouts only turn a hang into a failure
    let limit = std::time::Duration::from_secs(60);
    for _ in 0..2 {
        tokio::time::timeout(limit, turns_entered.recv()).await.expect("two turns start").unwrap();
    }
    // two slots, two claims: the third conversation is still free for anyone to claim
    let third = fx.store.claim_due("other", start, Duration::seconds(30)).await.unwrap().expect("not leased by w");
    assert!(fx.store.claim_due("other", start, Duration::seconds(30)).await.unwrap().is_none());
    fx.store.release_lease(&third).await.unwrap();
    // a finished turn frees its slot and wakes the claiming loop, which takes the third
    release.add_permits(1);
    tokio::time::timeout(limit, turns_entered.recv())
        .await
        .expect("the third turn starts once a slot is free")
        .unwrap();
    release.add_permits(2);
    let mut answered = Vec::new();
    for _ in 0..3 {
        answered.push(tokio::time::timeout(limit, commits.recv()).await.expect("every turn commits").unwrap());
    }
    answered.sort_by_key(|id| id.as_uuid());
    conversations.sort_by_key(|id| id.as_uuid());
    assert_eq!(answered, conversations);
    stop.send(()).unwrap();
    running.await.unwrap();
    for conversation in conversations {
        assert_eq!(assistant_texts(&fx.messages(conversation).await), ["done"]);
    }
}

/// Records what it was asked to send.
#[derive(Default)]
struct RecordingChannel {
    sent: Mutex<Vec<String>>,
}

#[async_trait]
impl confab_engine::channel_client::ChannelClient for RecordingChannel {
    async fn send(&self, job: &OutboundJob) -> Result<String, confab_engine::channel_client::SendFailure> {
        let mut sent = self.sent.lock().unwrap();
        sent.push(job.message.content.clone());
        Ok(format!("wamid.fake.{}", sent.len()))
    }
}

#[tokio::test]
async fn with_the_outbox_handoff_a_reply_is_claimed_as_its_turn_commits() {
    use confab_engine::outbox::{Outbox, OutboxPolicy};
    use futures_util::FutureExt;
    let fx = Fixture::new(|_| {}).await;
    let start = OffsetDateTime::now_utc();
    let clock = Arc::new(ManualClock::new(start));
    let channel = Arc::new(RecordingChannel::default());
    let outbox = Outbox::new(
        fx.store.clone(),
        confab_engine::send_pacing::SendPacing::per_second(1000),
        OutboxPolicy::default(),
    )
    .with_channel(Provider::Meta, channel.clone());
    let outbox_wake = Arc::new(Notify::new());
    let w = TurnWorker::new(
        fx.store.clone(),
        Arc::new(Echo::default()),
        clock.clone(),
        "w1",
        TurnPolicy::default(),
        outbox_wake.clone(),
    )
    .with_outbox_handoff(outbox.handoff());
    let conv = fx.customer_writes("+16505551234", "hi", start).await;
    assert_eq!(w.step().await.unwrap(), StepOutcome::Committed(conv));

    // claimed by the commit: no claim of the outbox finds it, and nobody woke the outbox to look
    assert!(fx.store.claim_outbound(start, Duration::seconds(1), 10).await.unwrap().is_empty());
    assert!(outbox_wake.notified().now_or_never().is_none(), "the outbox was woken for nothing");
    // the outbox's next pass sends what it was handed
    assert_eq!(outbox.step(start).await.unwrap(), 1);
    assert_eq!(*channel.sent.lock().unwrap(), ["re: hi"]);
    let reply = fx.messages(conv).await.into_iter().find(|m| m.role == Role::Assistant).unwrap();
    assert_eq!(reply.status, DeliveryStatus::Sent);
    assert_eq!(outbox.step(start).await.unwrap(), 0, "sent once");
}
