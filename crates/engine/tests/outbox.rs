//! The outbox driven one step at a time (and once through `run`) against a real SQLite store and
//! scripted channels.

#![allow(clippy::unwrap_used)]

mod support;

use async_trait::async_trait;
use confab_domain::*;
use confab_engine::channel_client::{ChannelClient, Disposition, SendFailure};
use confab_engine::outbox::{Outbox, OutboxPolicy};
use confab_engine::send_pacing::SendPacing;
use confab_storage::*;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use support::Fixture;
use time::{Duration, OffsetDateTime};

/// Answers each send with the next scripted outcome (success when the script is empty) and
/// records what it was asked to send.
#[derive(Default)]
struct ScriptedChannel {
    script: Mutex<VecDeque<SendFailure>>,
    sent: Mutex<Vec<String>>,
}

#[async_trait]
impl ChannelClient for ScriptedChannel {
    async fn send(&self, job: &OutboundJob) -> Result<String, SendFailure> {
        if let Some(failure) = self.script.lock().unwrap().pop_front() {
            return Err(failure);
        }
        let mut sent = self.sent.lock().unwrap();
        sent.push(job.message.content.clone());
        Ok(format!("wamid.fake.{}", sent.len()))
    }
}

struct World {
    fx: Fixture,
    channel: Arc<ScriptedChannel>,
    outbox: Outbox,
}

async fn world() -> World {
    let fx = Fixture::new(|_| {}).await;
    let channel = Arc::new(ScriptedChannel::default());
    let policy = OutboxPolicy { max_attempts: 3, ..OutboxPolicy::default() };
    let outbox = Outbox::new(fx.store.clone(), SendPacing::per_second(1000), policy)
        .with_channel(Provider::Meta, channel.clone());
    World { fx, channel, outbox }
}

impl World {
    async fn conversation(&self, ago: Duration) -> Conversation {
        self.fx.quiet_conversation(ago).await
    }

    async fn queue(&self, conversation: &Conversation, messages: Vec<NewMessage>) -> Vec<MessageId> {
        self.fx.store.enqueue_outbound(self.fx.ws, conversation.id, &messages, OffsetDateTime::now_utc()).await.unwrap()
    }

    async fn message(&self, conversation: &Conversation, id: MessageId) -> Message {
        self.fx.messages(conversation.id).await.into_iter().find(|m| m.id == id).unwrap()
    }
}

fn transient(code: i64) -> SendFailure {
    SendFailure {
        error: DeliveryError { code: Some(code), title: "Rate limit hit".into(), details: None },
        disposition: Disposition::Retry { after: None },
    }
}

#[tokio::test]
async fn messages_go_out_in_order_with_their_provider_ids() {
    let w = world().await;
    let conv = w.conversation(Duration::minutes(5)).await;
    let ids =
        w.queue(&conv, vec![NewMessage::text(Role::Agent, "first"), NewMessage::text(Role::Agent, "second")]).await;
    let now = OffsetDateTime::now_utc();
    assert_eq!(w.outbox.step(now).await.unwrap(), 1);
    assert_eq!(w.outbox.step(now).await.unwrap(), 1);
    assert_eq!(w.outbox.step(now).await.unwrap(), 0);
    assert_eq!(*w.channel.sent.lock().unwrap(), ["first", "second"]);
    let first = w.message(&conv, ids[0]).await;
    assert_eq!((first.status, first.provider_message_id.as_deref()), (DeliveryStatus::Sent, Some("wamid.fake.1")));
}

#[tokio::test]
async fn outside_the_window_free_form_is_refused_before_the_provider_and_templates_go() {
    let w = world().await;
    let conv = w.conversation(Duration::hours(25)).await;
    let mut template = NewMessage::text(Role::Agent, "[template order_update]");
    template.kind = MessageKind::Template;
    let ids = w.queue(&conv, vec![NewMessage::text(Role::Agent, "are you there?"), template]).await;
    let now = OffsetDateTime::now_utc();
    while w.outbox.step(now).await.unwrap() > 0 {}
    let refused = w.message(&conv, ids[0]).await;
    assert_eq!(refused.status, DeliveryStatus::Failed);
    let error = refused.error.unwrap();
    assert_eq!(error.title, "Outside the WhatsApp 24-hour window");
    assert!(error.details.unwrap().contains("closed at"), "the refusal names the window's expiry");
    assert_eq!(*w.channel.sent.lock().unwrap(), ["[template order_update]"], "only the template reached the provider");
    assert_eq!(w.message(&conv, ids[1]).await.status, DeliveryStatus::Sent);
}

#[tokio::test]
async fn transient_failures_retry_with_backoff_then_give_up() {
    let w = world().await;
    let conv = w.conversation(Duration::minutes(1)).await;
    w.channel.script.lock().unwrap().extend([transient(130429)]);
    let ids = w.queue(&conv, vec![NewMessage::text(Role::Agent, "hello")]).await;
    let now = OffsetDateTime::now_utc();
    assert_eq!(w.outbox.step(now).await.unwrap(), 1);
    let waiting = w.message(&conv, ids[0]).await;
    assert_eq!(waiting.status, DeliveryStatus::Queued);
    assert_eq!(waiting.error.as_ref().and_then(|e| e.code), Some(130429));
    assert_eq!(w.outbox.step(now + Duration::seconds(1)).await.unwrap(), 0, "backoff: not before 2 s");
    assert_eq!(w.outbox.step(now + Duration::seconds(2)).await.unwrap(), 1);
    assert_eq!(w.message(&conv, ids[0]).await.status, DeliveryStatus::Sent);

    // a message that keeps failing is failed after max_attempts (3), with the reason
    w.channel.script.lock().unwrap().extend([transient(131000), transient(131000), transient(131000)]);
    let ids = w.queue(&conv, vec![NewMessage::text(Role::Agent, "again")]).await;
    let mut at = now;
    for _ in 0..3 {
        at += Duration::minutes(10);
        assert_eq!(w.outbox.step(at).await.unwrap(), 1);
    }
    let failed = w.message(&conv, ids[0]).await;
    assert_eq!(failed.status, DeliveryStatus::Failed);
    assert!(failed.error.unwrap().details.unwrap().contains("Gave up after 3 attempts"));
}

#[tokio::test]
async fn a_final_failure_records_the_reason_and_can_flag_the_sender() {
    let w = world().await;
    let conv = w.conversation(Duration::minutes(1)).await;
    let expired = SendFailure {
        error: DeliveryError { code: Some(190), title: "Access token has expired".into(), details: None },
        disposition: Disposition::Fail { sender_needs_attention: true },
    };
    w.channel.script.lock().unwrap().push_back(expired);
    let ids = w.queue(&conv, vec![NewMessage::text(Role::Agent, "hello")]).await;
    w.outbox.step(OffsetDateTime::now_utc()).await.unwrap();
    let failed = w.message(&conv, ids[0]).await;
    assert_eq!((failed.status, failed.error.unwrap().code), (DeliveryStatus::Failed, Some(190)));
    assert_eq!(w.fx.store.get_sender(w.fx.ws, w.fx.sender.id).await.unwrap().status, SenderStatus::NeedsAttention);
}

/// Holds every send until `parties` sends are in flight at the same time.
struct GatheringChannel {
    gate: tokio::sync::Barrier,
}

#[async_trait]
impl ChannelClient for GatheringChannel {
    async fn send(&self, job: &OutboundJob) -> Result<String, SendFailure> {
        self.gate.wait().await;
        Ok(format!("wamid.fake.{}", job.message.id))
    }
}

/// Two WhatsApp conversations whose customers wrote 5 minutes before `now` (windows open).
async fn two_open_conversations(fx: &Fixture, now: OffsetDateTime) -> Vec<ConversationId> {
    let mut conversations = Vec::new();
    for phone in ["+16505551234", "+16505554321"] {
        let inbound = fx.inbound(phone, "hi", now - Duration::minutes(5), false);
        let IngestOutcome::Stored { conversation_id, .. } = fx.store.ingest(&[inbound], now).await.unwrap()[0] else {
            panic!("stored")
        };
        conversations.push(conversation_id);
    }
    conversations
}

#[tokio::test]
async fn one_step_sends_the_oldest_message_of_each_conversation_at_once() {
    let fx = Fixture::new(|_| {}).await;
    let channel = Arc::new(GatheringChannel { gate: tokio::sync::Barrier::new(2) });
    let outbox = Outbox::new(fx.store.clone(), SendPacing::per_second(1000), OutboxPolicy::default())
        .with_channel(Provider::Meta, channel);
    let now = OffsetDateTime::now_utc();
    let conversations = two_open_conversations(&fx, now).await;
    let first = vec![NewMessage::text(Role::Agent, "a1"), NewMessage::text(Role::Agent, "a2")];
    let a = fx.store.enqueue_outbound(fx.ws, conversations[0], &first, now).await.unwrap();
    let b =
        fx.store.enqueue_outbound(fx.ws, conversations[1], &[NewMessage::text(Role::Agent, "b1")], now).await.unwrap();

    // one after another, the first send would wait for the second for ever: the timeout only
    // turns that hang into a failure
    let handled = tokio::time::timeout(std::time::Duration::from_secs(60), outbox.step(OffsetDateTime::now_utc()))
        .await
        .expect("both sends were in flight together")
        .unwrap();
    assert_eq!(handled, 2, "one message of each conversation");
    let status = |conversation: ConversationId, id: MessageId| {
        let fx = &fx;
        async move { fx.messages(conversation).await.into_iter().find(|m| m.id == id).unwrap().status }
    };
    assert_eq!(status(conversations[0], a[0]).await, DeliveryStatus::Sent);
    assert_eq!(status(conversations[1], b[0]).await, DeliveryStatus::Sent);
    assert_eq!(
        status(conversations[0], a[1]).await,
        DeliveryStatus::Queued,
        "a conversation's next waits for its first"
    );
}

/// Holds the send of `held` until released; says when that send started and what went out.
struct HoldingChannel {
    held: &'static str,
    started: tokio::sync::Notify,
    release: tokio::sync::Notify,
    sent: tokio::sync::mpsc::UnboundedSender<String>,
}

impl HoldingChannel {
    /// The channel, and what went out through it, in order.
    fn new(held: &'static str) -> (Arc<Self>, tokio::sync::mpsc::UnboundedReceiver<String>) {
        let (sent, went_out) = tokio::sync::mpsc::unbounded_channel();
        let channel = Self { held, started: tokio::sync::Notify::new(), release: tokio::sync::Notify::new(), sent };
        (Arc::new(channel), went_out)
    }
}

#[async_trait]
impl ChannelClient for HoldingChannel {
    async fn send(&self, job: &OutboundJob) -> Result<String, SendFailure> {
        if job.message.content == self.held {
            self.started.notify_one();
            self.release.notified().await;
        }
        let _ = self.sent.send(job.message.content.clone());
        Ok(format!("wamid.fake.{}", job.message.id))
    }
}

#[tokio::test]
async fn a_slow_send_does_not_hold_back_what_is_queued_after_it() {
    let fx = Fixture::new(|_| {}).await;
    let (channel, mut went_out) = HoldingChannel::new("slow");
    let outbox = Outbox::new(fx.store.clone(), SendPacing::per_second(1000), OutboxPolicy::default())
        .with_channel(Provider::Meta, channel.clone());
    let wake = outbox.waker();
    let now = OffsetDateTime::now_utc();
    let conversations = two_open_conversations(&fx, now).await;
    let slow = fx
        .store
        .enqueue_outbound(fx.ws, conversations[0], &[NewMessage::text(Role::Agent, "slow")], now)
        .await
        .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(outbox.run(async move {
        let _ = stopped.await;
    }));
    channel.started.notified().await;

    // queued while the first send hangs: it goes out all the same (the timeout only turns a
    // hang, which waiting for the slow send would be, into a failure)
    let fast = fx
        .store
        .enqueue_outbound(fx.ws, conversations[1], &[NewMessage::text(Role::Agent, "fast")], now)
        .await
        .unwrap();
    wake.notify_one();
    let first_out = tokio::time::timeout(std::time::Duration::from_secs(60), went_out.recv()).await;
    assert_eq!(first_out.expect("the later message went out during the slow send").as_deref(), Some("fast"));

    channel.release.notify_one();
    assert_eq!(went_out.recv().await.as_deref(), Some("slow"));
    stop.send(()).unwrap();
    running.await.unwrap();
    // shutdown waited for the slow send's result to be recorded
    for (conversation, id) in [(conversations[0], slow[0]), (conversations[1], fast[0])] {
        let message = fx.messages(conversation).await.into_iter().find(|m| m.id == id).unwrap();
        assert_eq!(message.status, DeliveryStatus::Sent, "{}", message.content);
    }
}

#[tokio::test]
async fn messages_handed_over_already_claimed_go_out_and_their_next_without_a_claim_or_a_wake() {
    let fx = Fixture::new(|_| {}).await;
    let (channel, mut went_out) = HoldingChannel::new("nothing is held");
    // it never polls by itself within the test, and nobody wakes it
    let policy = OutboxPolicy { idle_poll: std::time::Duration::from_secs(3_600), ..OutboxPolicy::default() };
    let outbox =
        Outbox::new(fx.store.clone(), SendPacing::per_second(1000), policy).with_channel(Provider::Meta, channel);
    let handoff = outbox.handoff();
    assert_eq!(handoff.lease(), policy.lease);
    // claimed elsewhere before the outbox runs: its own claims find nothing
    let now = OffsetDateTime::now_utc();
    let conversations = two_open_conversations(&fx, now).await;
    let two = [NewMessage::text(Role::Agent, "handed"), NewMessage::text(Role::Agent, "next")];
    let queued = fx.store.enqueue_outbound(fx.ws, conversations[0], &two, now).await.unwrap();
    let claimed = fx.store.claim_outbound(now, handoff.lease(), 10).await.unwrap();
    assert_eq!(claimed.iter().map(|j| j.message.id).collect::<Vec<_>>(), queued[..1]);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(outbox.run(async move {
        let _ = stopped.await;
    }));
    let claimed = claimed.iter().map(|job| ClaimedSend {
        message_id: job.message.id,
        conversation_id: job.conversation.id,
        attempts: job.attempts,
    });
    handoff.send(claimed.collect());

    // the timeout only turns a hang (a message waiting for a claim that never comes) into a
    // failure; the next one was claimed as the first one's result was recorded
    for expected in ["handed", "next"] {
        let out = tokio::time::timeout(std::time::Duration::from_secs(60), went_out.recv()).await;
        assert_eq!(out.expect("went out without a claim").as_deref(), Some(expected));
    }
    stop.send(()).unwrap();
    running.await.unwrap();
    for message in fx.messages(conversations[0]).await.iter().filter(|m| m.role == Role::Agent) {
        assert_eq!(message.status, DeliveryStatus::Sent, "{} recorded before shutdown", message.content);
    }
}
