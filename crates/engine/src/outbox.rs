//! The outbox sender: claims queued messages (oldest of each conversation first), refuses
//! free-form WhatsApp messages outside the 24-hour window before they reach the provider,
//! paces each number, hands the rest to their channel's client, and records the outcome —
//! provider id, a retry with backoff, or a failure with the provider's reason.
//!
//! [`Outbox::step`] is one pass and is public, so tests drive the queue without sleeping;
//! [`Outbox::run`] claims again while earlier batches are still being sent, so a slow send
//! never holds back what was queued after it. Each outcome is recorded as soon as its send
//! returns, grouped with the outcomes that return meanwhile (one transaction for them all).
//!
//! Most messages arrive already claimed, through an [`OutboxHandoff`]: the turn worker claims
//! its replies in the transaction that commits them, and recording a send's result claims its
//! conversation's next message in the same transaction. That spares each of them a claim of
//! its own (a write, on SQLite a wait for the one writer) on its way out. The outbox's own
//! claims find the rest: messages queued by people and the API, and retries once due.

use crate::channel_client::{ChannelClient, Disposition, SendFailure};
use crate::group_commit::GroupCommit;
use crate::send_pacing::SendPacing;
use confab_domain::{ConversationType, DeliveryError, MessageId, MessageKind, Provider, SenderStatus};
use confab_storage::{ClaimedSend, OutboundJob, SendResult, Store, StoreError};
use futures_util::future::join_all;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, OnceLock};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};
use tokio::sync::mpsc;

/// Claimed batches being sent at once by [`Outbox::run`].
const BATCHES_IN_FLIGHT: usize = 8;

#[derive(Clone, Copy, Debug)]
pub struct OutboxPolicy {
    /// How long a claimed message is ours before another sender may try it.
    pub lease: Duration,
    /// Messages claimed per pass.
    pub batch: u32,
    /// Attempts before a message that keeps failing transiently is given up as failed.
    pub max_attempts: i64,
    /// The first retry waits this long; each further one twice as long, up to `max_backoff`.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// Idle wait between passes that found nothing.
    pub idle_poll: std::time::Duration,
}

impl Default for OutboxPolicy {
    fn default() -> Self {
        Self {
            lease: Duration::seconds(60),
            batch: 256,
            max_attempts: 8,
            base_backoff: Duration::seconds(2),
            max_backoff: Duration::minutes(5),
            idle_poll: std::time::Duration::from_millis(250),
        }
    }
}

/// Hands the outbox messages claimed for it in another transaction (a turn's commit, or the
/// record of the send before them), to send without a claim of its own.
#[derive(Clone, Debug)]
pub struct OutboxHandoff {
    claimed: mpsc::UnboundedSender<Vec<ClaimedSend>>,
    lease: Duration,
}

impl OutboxHandoff {
    /// How long a claim made for this outbox lasts: the outbox's own lease.
    pub fn lease(&self) -> Duration {
        self.lease
    }

    /// Gives claimed messages to the outbox. Should it have stopped, they stay claimed until
    /// their lease ends, and are then claimed and sent like any other.
    pub fn send(&self, claimed: Vec<ClaimedSend>) {
        if !claimed.is_empty() {
            let _ = self.claimed.send(claimed);
        }
    }
}

pub struct Outbox {
    store: Arc<dyn Store>,
    channels: HashMap<Provider, Arc<dyn ChannelClient>>,
    pacing: SendPacing,
    policy: OutboxPolicy,
    wake: Arc<tokio::sync::Notify>,
    /// Kept so [`Outbox::handoff`] can hand out more (and so the channel never closes).
    handoff: OutboxHandoff,
    handed: tokio::sync::Mutex<mpsc::UnboundedReceiver<Vec<ClaimedSend>>>,
    /// Started by the first result (it needs the runtime).
    results: OnceLock<GroupCommit<(MessageId, SendResult), ()>>,
}

impl Outbox {
    pub fn new(store: Arc<dyn Store>, pacing: SendPacing, policy: OutboxPolicy) -> Self {
        let (claimed, handed) = mpsc::unbounded_channel();
        let handoff = OutboxHandoff { claimed, lease: policy.lease };
        Self {
            store,
            channels: HashMap::new(),
            pacing,
            policy,
            wake: Arc::new(tokio::sync::Notify::new()),
            handoff,
            handed: tokio::sync::Mutex::new(handed),
            results: OnceLock::new(),
        }
    }

    pub fn with_channel(mut self, provider: Provider, client: Arc<dyn ChannelClient>) -> Self {
        self.channels.insert(provider, client);
        self
    }

    /// A handle that wakes the outbox at once (after something was queued).
    pub fn waker(&self) -> Arc<tokio::sync::Notify> {
        self.wake.clone()
    }

    /// A handle that gives the outbox messages claimed for it elsewhere.
    pub fn handoff(&self) -> OutboxHandoff {
        self.handoff.clone()
    }

    /// One pass: takes the messages handed over since the last pass, or else claims a batch,
    /// and handles them concurrently (a claim holds at most one message per conversation, its
    /// oldest unsent, so the order within a conversation is kept). Returns how many it handled.
    pub async fn step(&self, now: OffsetDateTime) -> Result<usize, StoreError> {
        let handed = take_handed(&mut *self.handed.lock().await);
        let jobs = match handed {
            Some(claimed) => self.store.load_claimed(&claimed).await?,
            None => self.store.claim_outbound(now, self.policy.lease, self.policy.batch).await?,
        };
        self.send_all(&jobs, now).await?;
        Ok(jobs.len())
    }

    /// Sends the claimed messages concurrently and records each outcome.
    async fn send_all(&self, jobs: &[OutboundJob], now: OffsetDateTime) -> Result<(), StoreError> {
        let handled = join_all(jobs.iter().map(|job| async move {
            let result = self.attempt(job, now).await;
            self.record(job.message.id, result).await
        }))
        .await;
        // a message whose result could not be recorded is sent again once its claim expires
        handled.into_iter().collect::<Result<Vec<()>, StoreError>>()?;
        Ok(())
    }

    /// Records a send's outcome, in one transaction with the outcomes recorded meanwhile, which
    /// claims the next message of each conversation whose message left and hands it over.
    async fn record(&self, message_id: MessageId, result: SendResult) -> Result<(), StoreError> {
        let results = self.results.get_or_init(|| {
            let store = self.store.clone();
            let handoff = self.handoff.clone();
            GroupCommit::start(
                self.policy.batch.max(1) as usize,
                Arc::new(move |results: Vec<(MessageId, SendResult)>, now| {
                    let store = store.clone();
                    let handoff = handoff.clone();
                    Box::pin(async move {
                        let next = store.record_send_results_claiming_next(&results, now, Some(handoff.lease)).await?;
                        handoff.send(next);
                        Ok(vec![(); results.len()])
                    })
                }),
            )
        });
        results.write(vec![(message_id, result)], OffsetDateTime::now_utc()).await?;
        Ok(())
    }

    /// Runs passes until `shutdown` completes, then waits for the sends in flight. Each batch,
    /// claimed or handed over, is sent in a task of its own while the next goes ahead, at most
    /// [`BATCHES_IN_FLIGHT`] at once: the messages committed during a slow send go out without
    /// waiting for it. Order within a conversation holds regardless, because a claim never
    /// takes a conversation's next message while an earlier one is unsent.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let outbox = Arc::new(self);
        let mut handed = outbox.handed.lock().await;
        let slots = Arc::new(tokio::sync::Semaphore::new(BATCHES_IN_FLIGHT));
        let mut batches = tokio::task::JoinSet::new();
        let mut received: Option<Vec<ClaimedSend>> = None;
        tokio::pin!(shutdown);
        loop {
            let slot = tokio::select! {
                () = &mut shutdown => break,
                slot = slots.clone().acquire_owned() => match slot {
                    Ok(slot) => slot,
                    Err(_) => break,
                },
            };
            while batches.try_join_next().is_some() {}
            let now = OffsetDateTime::now_utc();
            let (jobs, claimed) = match received.take() {
                Some(mut claimed) => {
                    claimed.extend(take_handed(&mut handed).unwrap_or_default());
                    (outbox.store.load_claimed(&claimed).await, false)
                }
                None => (outbox.store.claim_outbound(now, outbox.policy.lease, outbox.policy.batch).await, true),
            };
            match jobs {
                Ok(jobs) if !jobs.is_empty() => {
                    // a full claim may have left more behind; else what is queued from now on
                    // wakes the loop (a wake during the claim is kept for the next wait)
                    let full = claimed && jobs.len() >= outbox.policy.batch as usize;
                    let outbox = outbox.clone();
                    batches.spawn(async move {
                        if let Err(err) = outbox.send_all(&jobs, now).await {
                            tracing::error!(error = %err, "recording send results failed");
                        }
                        drop(slot);
                    });
                    if full {
                        continue;
                    }
                }
                Ok(_) => drop(slot),
                Err(err) => {
                    drop(slot);
                    tracing::error!(error = %err, "claiming or loading queued messages failed");
                }
            }
            tokio::select! {
                () = &mut shutdown => break,
                // never `None`: the outbox holds a sender itself
                claimed = handed.recv() => received = claimed,
                () = outbox.wake.notified() => {}
                () = tokio::time::sleep(outbox.policy.idle_poll) => {}
            }
        }
        while batches.join_next().await.is_some() {}
        // what was handed over and not yet taken goes out too, rather than wait out its lease
        let mut left = received.unwrap_or_default();
        left.extend(take_handed(&mut handed).unwrap_or_default());
        let sent = match outbox.store.load_claimed(&left).await {
            Ok(jobs) => outbox.send_all(&jobs, OffsetDateTime::now_utc()).await,
            Err(err) => Err(err),
        };
        if let Err(err) = sent {
            tracing::error!(error = %err, "sending what was handed over before shutdown failed");
        }
    }

    async fn attempt(&self, job: &OutboundJob, now: OffsetDateTime) -> SendResult {
        if let Some(error) = window_refusal(job, now) {
            tracing::info!(conversation_id = %job.conversation.id, message_id = %job.message.id, "free-form message refused: outside the 24-hour window");
            return SendResult::Failed { error };
        }
        let Some(sender) = &job.sender else {
            return SendResult::Failed { error: plain_error("This conversation has no WhatsApp number to send from") };
        };
        let Some(client) = self.channels.get(&sender.provider) else {
            return SendResult::Failed {
                error: plain_error(&format!(
                    "No {} client is configured to send this message",
                    sender.provider.as_str()
                )),
            };
        };
        self.pacing.wait_turn(sender.id).await;
        match client.send(job).await {
            Ok(provider_message_id) => SendResult::Sent { provider_message_id },
            Err(SendFailure { error, disposition: Disposition::Fail { sender_needs_attention } }) => {
                tracing::warn!(conversation_id = %job.conversation.id, message_id = %job.message.id, code = ?error.code, reason = %error.title, "send failed");
                if sender_needs_attention {
                    if let Err(err) = self.store.set_sender_status(sender.id, SenderStatus::NeedsAttention).await {
                        tracing::error!(error = %err, "could not mark the sender as needing attention");
                    }
                }
                SendResult::Failed { error }
            }
            Err(SendFailure { error, disposition: Disposition::Retry { after } }) => {
                let attempts = job.attempts + 1;
                if attempts >= self.policy.max_attempts {
                    tracing::warn!(conversation_id = %job.conversation.id, message_id = %job.message.id, attempts, "send given up after repeated transient failures");
                    let details = format!("Gave up after {attempts} attempts; the last error was: {}", error.title);
                    return SendResult::Failed { error: DeliveryError { details: Some(details), ..error } };
                }
                let wait = after.and_then(|d| Duration::try_from(d).ok()).unwrap_or_else(|| self.backoff(job.attempts));
                SendResult::Retry { at: now + wait, error }
            }
        }
    }

    fn backoff(&self, previous_attempts: i64) -> Duration {
        let factor = 1_i32.checked_shl(u32::try_from(previous_attempts.clamp(0, 20)).unwrap_or(20)).unwrap_or(i32::MAX);
        (self.policy.base_backoff * factor).min(self.policy.max_backoff)
    }
}

/// Everything handed over and waiting, as one batch; `None` if nothing is.
fn take_handed(handed: &mut mpsc::UnboundedReceiver<Vec<ClaimedSend>>) -> Option<Vec<ClaimedSend>> {
    let mut claimed: Option<Vec<ClaimedSend>> = None;
    while let Ok(more) = handed.try_recv() {
        claimed.get_or_insert_with(Vec::new).extend(more);
    }
    claimed
}

/// WhatsApp allows free-form messages only inside the window; templates go any time. The
/// refusal names when the window closed and what to do instead.
fn window_refusal(job: &OutboundJob, now: OffsetDateTime) -> Option<DeliveryError> {
    if job.conversation.kind != ConversationType::Whatsapp || job.message.kind == MessageKind::Template {
        return None;
    }
    let window = job.conversation.window();
    if window.is_open(now) {
        return None;
    }
    let details = match window.expires_at() {
        Some(expired) => format!(
            "The customer's 24-hour window closed at {}; WhatsApp only accepts an approved template now.",
            expired.format(&Rfc3339).unwrap_or_default()
        ),
        None => {
            "The customer has not written yet, so there is no 24-hour window; start with an approved template.".into()
        }
    };
    Some(DeliveryError { code: None, title: "Outside the WhatsApp 24-hour window".into(), details: Some(details) })
}

fn plain_error(title: &str) -> DeliveryError {
    DeliveryError { code: None, title: title.into(), details: None }
}
