//! The turn worker: claims a due conversation with a lease, gathers the customer messages
//! waiting for an answer, lets the responder answer while keeping the lease alive, and commits
//! the outcome with the lease's fencing token. A worker that lost its lease (it stalled, and
//! another took over) cannot commit: its work is dropped and the other worker's stands, so a
//! conversation never gets a duplicate or interleaved reply.
//!
//! [`TurnWorker::step`] runs one turn and is public so tests drive the queue without sleeping;
//! [`TurnWorker::run`] runs several at once until shutdown: one claiming loop takes as many due
//! conversations as there are free turn slots in one statement and runs each in its own task.
//! Turns that finish together commit together (a group commit), so neither claims nor commits
//! cost a write transaction per turn. Given the outbox's [`OutboxHandoff`], that commit also
//! claims the replies for sending and hands them straight to the outbox.

use crate::channel_client::ReadReceipts;
use crate::clock::Clock;
use crate::group_commit::GroupCommit;
use crate::outbox::OutboxHandoff;
use crate::responder::{Responder, TurnInput, TurnOutcome};
use confab_domain::{ConversationId, ConversationType, MessageKind, Role};
use confab_storage::{FencedTurn, Lease, NewMessage, Store, StoreError, TurnCommit};
use std::collections::HashSet;
use std::future::Future;
use std::sync::{Arc, OnceLock};
use time::Duration;

/// How much of the conversation a turn sees.
const HISTORY_LIMIT: u32 = 200;

/// Most conversations one claim takes, and most turns one commit writes.
const BATCH: usize = 256;

/// Each turn's outcome: `None` if its lease was lost, else whether a reply of it was handed to
/// the outbox already claimed.
type TurnCommits = GroupCommit<FencedTurn, Option<bool>>;

#[derive(Clone, Copy, Debug)]
pub struct TurnPolicy {
    /// How long a claim lasts without renewal; renewed every third of it while a turn runs.
    pub lease: Duration,
    /// Idle wait between polls when nothing is due.
    pub idle_poll: std::time::Duration,
}

impl Default for TurnPolicy {
    fn default() -> Self {
        Self { lease: Duration::seconds(60), idle_poll: std::time::Duration::from_millis(200) }
    }
}

/// What one step did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepOutcome {
    /// Nothing was due.
    Idle,
    /// A turn was committed for this conversation.
    Committed(ConversationId),
    /// The lease was lost before the commit; another worker answers instead.
    LeaseLost(ConversationId),
}

pub struct TurnWorker {
    store: Arc<dyn Store>,
    responder: Arc<dyn Responder>,
    clock: Arc<dyn Clock>,
    owner: String,
    policy: TurnPolicy,
    outbox_wake: Arc<tokio::sync::Notify>,
    outbox_handoff: Option<OutboxHandoff>,
    read_receipts: Option<Arc<dyn ReadReceipts>>,
    committed: Option<tokio::sync::broadcast::Sender<ConversationId>>,
    wake: Arc<tokio::sync::Notify>,
    /// Started by the first commit (it needs the runtime).
    commits: OnceLock<TurnCommits>,
}

impl TurnWorker {
    pub fn new(
        store: Arc<dyn Store>,
        responder: Arc<dyn Responder>,
        clock: Arc<dyn Clock>,
        owner: impl Into<String>,
        policy: TurnPolicy,
        outbox_wake: Arc<tokio::sync::Notify>,
    ) -> Self {
        Self {
            store,
            responder,
            clock,
            owner: owner.into(),
            policy,
            outbox_wake,
            outbox_handoff: None,
            read_receipts: None,
            committed: None,
            wake: Arc::new(tokio::sync::Notify::new()),
            commits: OnceLock::new(),
        }
    }

    /// A handle that wakes an idle worker at once (after a message that wants a reply).
    pub fn waker(&self) -> Arc<tokio::sync::Notify> {
        self.wake.clone()
    }

    /// Announces each committed turn's conversation (API callers wait for their reply on it).
    pub fn with_commit_events(mut self, committed: tokio::sync::broadcast::Sender<ConversationId>) -> Self {
        self.committed = Some(committed);
        self
    }

    /// Claims each turn's replies for the outbox as the turn commits, and hands them over,
    /// instead of waking the outbox to claim them.
    pub fn with_outbox_handoff(mut self, handoff: OutboxHandoff) -> Self {
        self.outbox_handoff = Some(handoff);
        self
    }

    /// Marks the customer's last message read, with a typing indicator, as each turn starts.
    pub fn with_read_receipts(mut self, read_receipts: Arc<dyn ReadReceipts>) -> Self {
        self.read_receipts = Some(read_receipts);
        self
    }

    /// Claims one due conversation and runs its turn.
    pub async fn step(&self) -> Result<StepOutcome, StoreError> {
        match self.claim().await? {
            Some(lease) => self.run_turn(lease).await,
            None => Ok(StepOutcome::Idle),
        }
    }

    /// Claims the longest-due conversation, if any is due.
    async fn claim(&self) -> Result<Option<Lease>, StoreError> {
        self.store.claim_due(&self.owner, self.clock.now(), self.policy.lease).await
    }

    /// Claims up to `limit` due conversations, longest-due first, in one statement.
    async fn claim_batch(&self, limit: usize) -> Result<Vec<Lease>, StoreError> {
        let limit = u32::try_from(limit).unwrap_or(u32::MAX);
        self.store.claim_due_batch(&self.owner, self.clock.now(), self.policy.lease, limit).await
    }

    /// Commits a turn with its lease, grouped with the turns that finish meanwhile; answers
    /// whether a reply of it went to the outbox already claimed. `LeaseLost` (and nothing
    /// written) if the lease was lost.
    async fn commit(&self, lease: &Lease, turn: TurnCommit, now: time::OffsetDateTime) -> Result<bool, StoreError> {
        let commits = self.commits.get_or_init(|| {
            let store = self.store.clone();
            let handoff = self.outbox_handoff.clone();
            GroupCommit::start(
                BATCH,
                Arc::new(move |turns: Vec<FencedTurn>, _now| {
                    let store = store.clone();
                    let handoff = handoff.clone();
                    Box::pin(async move {
                        let claim_for = handoff.as_ref().map(OutboxHandoff::lease);
                        let committed = store.commit_turns_claiming_sends(&turns, claim_for).await?;
                        let handed: HashSet<ConversationId> =
                            committed.claimed.iter().map(|claim| claim.conversation_id).collect();
                        if let Some(handoff) = &handoff {
                            handoff.send(committed.claimed);
                        }
                        let outcomes = turns.iter().zip(committed.outcomes);
                        Ok(outcomes.map(|(t, o)| o.map(|_| handed.contains(&t.lease.conversation_id))).collect())
                    })
                }),
            )
        });
        let fenced = FencedTurn { lease: lease.clone(), turn, now };
        commits.write(vec![fenced], now).await?.pop().flatten().ok_or(StoreError::LeaseLost)
    }

    /// Runs the turn of a claimed conversation and announces its commit.
    async fn run_turn(&self, lease: Lease) -> Result<StepOutcome, StoreError> {
        let conversation_id = lease.conversation_id;
        match self.turn(lease).await {
            Ok(()) => {
                if let Some(committed) = &self.committed {
                    // nobody listening is fine
                    let _ = committed.send(conversation_id);
                }
                Ok(StepOutcome::Committed(conversation_id))
            }
            Err(StoreError::LeaseLost) => {
                tracing::warn!(%conversation_id, owner = %self.owner, "turn dropped: the lease was lost before the commit");
                Ok(StepOutcome::LeaseLost(conversation_id))
            }
            Err(err) => Err(err),
        }
    }

    async fn turn(&self, lease: Lease) -> Result<(), StoreError> {
        let conversation = self.store.get_conversation(lease.workspace_id, lease.conversation_id).await?;
        let (pending, history) = self.store.turn_messages(&lease, HISTORY_LIMIT).await?;
        if !conversation.ai_enabled || pending.messages.is_empty() {
            // a person took over since, or nothing is left: clear the work without answering
            let idle = TurnCommit::nothing(pending.through_seq);
            self.commit(&lease, idle, self.clock.now()).await?;
            return Ok(());
        }
        let assistant = match self.store.get_assistant(lease.workspace_id, conversation.assistant_id).await {
            Ok(assistant) => assistant,
            Err(StoreError::NotFound(_)) => {
                // the assistant was deleted: nobody answers, and the work must not come back
                tracing::warn!(conversation_id = %conversation.id, "turn skipped: the conversation's assistant was deleted");
                let idle = TurnCommit::nothing(pending.through_seq);
                self.commit(&lease, idle, self.clock.now()).await?;
                return Ok(());
            }
            Err(err) => return Err(err),
        };
        let customer = self.store.customers_by_ids(lease.workspace_id, &[conversation.customer_id]).await?.pop();
        let prices = crate::workspace_prices::load(self.store.as_ref(), lease.workspace_id).await?;
        let input = TurnInput {
            assistant: &assistant,
            conversation: &conversation,
            customer: customer.as_ref(),
            history: &history,
            pending: &pending.messages,
            prices: prices.as_ref(),
        };
        // the read receipt goes while the responder works, adding no time to the answer
        let ((), outcome) = tokio::join!(
            self.acknowledge(&conversation, &pending.messages),
            self.respond_keeping_the_lease(&lease, input)
        );
        let outcome = outcome?;
        let messages = if conversation.kind == ConversationType::Whatsapp {
            split_long_replies(outcome.messages)
        } else {
            outcome.messages
        };
        let sends = messages.iter().any(|m| matches!(m.role, Role::Assistant | Role::Agent));
        let now = self.clock.now();
        let messages = with_response_time(messages, &pending.messages, now);
        let commit = TurnCommit {
            answered_through_seq: pending.through_seq,
            messages,
            hand_over: outcome.hand_over,
            end: outcome.end,
            variables: outcome.variables,
        };
        let handed_over = self.commit(&lease, commit, now).await?;
        tracing::info!(conversation_id = %conversation.id, answered = pending.messages.len(), hand_over = outcome.hand_over, "turn committed");
        if sends && !handed_over {
            self.outbox_wake.notify_one();
        }
        Ok(())
    }

    /// Read receipt and typing indicator for the newest pending message (best effort).
    async fn acknowledge(&self, conversation: &confab_domain::Conversation, pending: &[confab_domain::Message]) {
        let (Some(receipts), Some(sender_id)) = (&self.read_receipts, conversation.sender_id) else { return };
        let Some(wamid) = pending.last().and_then(|m| m.provider_message_id.as_deref()) else { return };
        match self.store.get_sender(conversation.workspace_id, sender_id).await {
            Ok(sender) => receipts.mark_read_and_typing(&sender, wamid).await,
            Err(err) => tracing::warn!(error = %err, "no read receipt: the sender could not be loaded"),
        }
    }

    /// Runs the responder, renewing the lease every third of its length; gives up (LeaseLost)
    /// as soon as a renewal is refused.
    async fn respond_keeping_the_lease(&self, lease: &Lease, input: TurnInput<'_>) -> Result<TurnOutcome, StoreError> {
        let renew_every =
            std::time::Duration::try_from(self.policy.lease / 3).unwrap_or(std::time::Duration::from_secs(10));
        let respond = self.responder.respond(input);
        tokio::pin!(respond);
        let mut current = lease.clone();
        loop {
            tokio::select! {
                outcome = &mut respond => return Ok(outcome),
                () = tokio::time::sleep(renew_every) => {
                    current = self.store.extend_lease(&current, self.clock.now(), self.policy.lease).await?;
                }
            }
        }
    }

    /// Runs `concurrency` turns at a time until `shutdown` completes, then lets the running
    /// ones finish.
    ///
    /// One loop claims: it waits for a free turn slot, claims as many due conversations as
    /// there are free slots (one statement), and runs each turn in a task of its own. When it
    /// got fewer than it asked for, nothing more is due: it sleeps `idle_poll`, or until
    /// [`TurnWorker::waker`] is notified or a turn ends (its conversation may be due again).
    pub async fn run(self: Arc<Self>, concurrency: usize, shutdown: impl Future<Output = ()> + Send + 'static) {
        let slots = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
        let mut turns = tokio::task::JoinSet::new();
        tokio::pin!(shutdown);
        loop {
            // claiming more than can run would only hold leases idle
            let first = tokio::select! {
                () = &mut shutdown => break,
                slot = slots.clone().acquire_owned() => match slot {
                    Ok(slot) => slot,
                    Err(_) => break,
                },
            };
            while turns.try_join_next().is_some() {}
            let wanted = (1 + slots.available_permits()).min(BATCH);
            let claimed = self.claim_batch(wanted).await.unwrap_or_else(|err| {
                tracing::error!(error = %err, "claiming due conversations failed");
                Vec::new()
            });
            let more_may_be_due = claimed.len() == wanted;
            let mut first = Some(first);
            for lease in claimed {
                // only this loop takes slots, so the ones counted above are still free
                let Some(slot) = first.take().or_else(|| slots.clone().try_acquire_owned().ok()) else {
                    if let Err(err) = self.store.release_lease(&lease).await {
                        tracing::error!(error = %err, "giving back a claimed conversation failed");
                    }
                    continue;
                };
                let worker = self.clone();
                turns.spawn(async move {
                    if let Err(err) = worker.run_turn(lease).await {
                        tracing::error!(error = %err, "turn failed");
                    }
                    drop(slot);
                    worker.wake.notify_one();
                });
            }
            drop(first);
            if more_may_be_due {
                continue;
            }
            tokio::select! {
                () = &mut shutdown => break,
                () = self.wake.notified() => {}
                () = tokio::time::sleep(self.policy.idle_poll) => {}
            }
        }
        while turns.join_next().await.is_some() {}
    }
}

/// Records the turn's response time on its first assistant message: `now` (the commit) minus
/// when confab received the oldest customer message the turn answers.
fn with_response_time(
    mut messages: Vec<NewMessage>,
    pending: &[confab_domain::Message],
    now: time::OffsetDateTime,
) -> Vec<NewMessage> {
    let oldest = pending.iter().map(|m| m.created_at).min();
    if let (Some(oldest), Some(first)) = (oldest, messages.iter_mut().find(|m| m.role == Role::Assistant)) {
        let ms = (now - oldest).whole_milliseconds().max(0);
        first.response_time_ms = Some(i64::try_from(ms).unwrap_or(i64::MAX));
    }
    messages
}

/// WhatsApp takes at most 4096 characters a message: longer replies go as several, split on
/// paragraph boundaries.
fn split_long_replies(messages: Vec<NewMessage>) -> Vec<NewMessage> {
    let mut out = Vec::with_capacity(messages.len());
    for message in messages {
        if message.role == Role::Assistant
            && message.kind == MessageKind::Text
            && message.content.chars().count() > confab_channels::whatsapp::WHATSAPP_TEXT_LIMIT
        {
            let parts = confab_channels::whatsapp::split_for_whatsapp(&message.content);
            let count = parts.len();
            for (i, part) in parts.into_iter().enumerate() {
                // the first part carries the turn's cost and usage
                let mut piece = NewMessage::text(Role::Assistant, part);
                if i == 0 {
                    piece.cost = message.cost;
                    piece.usage = message.usage;
                }
                piece.payload = serde_json::json!({ "part": i + 1, "of": count });
                if i == 0 {
                    // and the model call's details (the metrics read its latency)
                    for key in ["model", "llm_latency_ms", "llm_error"] {
                        if let Some(value) = message.payload.get(key) {
                            piece.payload[key] = value.clone();
                        }
                    }
                }
                out.push(piece);
            }
        } else {
            out.push(message);
        }
    }
    out
}
