//! The store traits, grouped by what they own, and the inputs and outputs they speak.
//! [`Store`] is all of them together, used as `Arc<dyn Store>`.

use crate::booking_store::BookingStore;
use crate::export::ExportStore;
use crate::http_tools::HttpToolStore;
use crate::knowledge::KnowledgeStore;
use crate::metrics::MetricsStore;
use crate::seed::SeedStore;
use crate::sessions::SessionStore;
use crate::StoreError;
use async_trait::async_trait;
use confab_domain::{
    AfterEnd, ApiKey, ApiKeySecret, Assistant, AssistantId, Availability, Conversation, ConversationId,
    ConversationStatus, ConversationType, Customer, CustomerId, DataField, DeliveryError, DeliveryStatus, Email,
    ExtractionStatus, InactivityTimeout, InboundMessage, IngestOutcome, KnowledgeBaseId, KnowledgeMode, Message,
    MessageId, MessageKind, MicroUsd, PhoneNumber, Provider, ResponseDelay, Role, Secret, Sender, SenderId,
    SenderStatus, Temperature, ToolCall, ToolName, Usage, User, UserRole, Workspace, WorkspaceId,
};
use time::{Duration, OffsetDateTime};

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Workspaces, dashboard users and API keys.
#[async_trait]
pub trait TenantStore: Send + Sync {
    async fn create_workspace(&self, name: &str) -> Result<Workspace>;
    /// The oldest workspace, created with `name` if there is none yet. Idempotent.
    async fn ensure_default_workspace(&self, name: &str) -> Result<Workspace>;
    async fn get_workspace(&self, id: WorkspaceId) -> Result<Workspace>;

    /// Fails with a conflict on `users_email_key` if the e-mail is taken.
    async fn create_user(&self, user: NewUser) -> Result<User>;
    async fn user_by_email(&self, email: &Email) -> Result<Option<User>>;
    async fn count_users(&self) -> Result<i64>;
    /// The workspace's users, oldest first.
    async fn list_users(&self, workspace_id: WorkspaceId) -> Result<Vec<User>>;
    /// Gives the user `role`. Refused with a conflict on [`LAST_OWNER`] when that would leave
    /// the workspace without an owner; not found also for another workspace's user.
    async fn set_user_role(&self, workspace_id: WorkspaceId, id: confab_domain::UserId, role: UserRole)
        -> Result<User>;

    async fn create_api_key(&self, workspace_id: WorkspaceId, name: &str, key: &ApiKeySecret) -> Result<ApiKey>;
    /// The live (not revoked) key with this hash.
    async fn api_key_by_hash(&self, key_hash: &str) -> Result<Option<ApiKey>>;
    async fn revoke_api_key(&self, workspace_id: WorkspaceId, id: confab_domain::ApiKeyId) -> Result<()>;
    /// The workspace's keys, revoked ones too, newest first.
    async fn list_api_keys(&self, workspace_id: WorkspaceId) -> Result<Vec<ApiKey>>;

    /// The workspace's own price table as stored (JSON), or `None` when it uses the defaults.
    async fn price_table(&self, workspace_id: WorkspaceId) -> Result<Option<serde_json::Value>>;
    /// Stores (replaces) the workspace's price table.
    async fn set_price_table(&self, workspace_id: WorkspaceId, prices: &serde_json::Value) -> Result<()>;
    /// Forgets the workspace's table: the defaults apply again. Idempotent.
    async fn delete_price_table(&self, workspace_id: WorkspaceId) -> Result<()>;
}

/// Assistants and senders: what a workspace configures.
#[async_trait]
pub trait ConfigStore: Send + Sync {
    async fn create_assistant(&self, assistant: NewAssistant) -> Result<Assistant>;
    /// Not found also when the assistant belongs to another workspace.
    async fn get_assistant(&self, workspace_id: WorkspaceId, id: AssistantId) -> Result<Assistant>;

    /// Fails with a conflict on `senders_provider_sender_key` if the number is already linked.
    async fn create_sender(&self, sender: NewSender) -> Result<Sender>;
    async fn get_sender(&self, workspace_id: WorkspaceId, id: SenderId) -> Result<Sender>;
    /// Routing for webhooks: which sender has this provider id (Meta phone-number id…).
    async fn sender_by_provider_id(&self, provider: Provider, provider_sender_id: &str) -> Result<Option<Sender>>;

    /// The workspace's assistants that are not deleted, oldest first.
    async fn list_assistants(&self, workspace_id: WorkspaceId) -> Result<Vec<Assistant>>;
    /// Applies the given changes and bumps `updated_at`. Not found for another workspace's or a
    /// deleted assistant.
    async fn update_assistant(
        &self,
        workspace_id: WorkspaceId,
        id: AssistantId,
        changes: AssistantChanges,
    ) -> Result<Assistant>;
    /// Soft delete: the row stays (conversations keep pointing at it) but the assistant is not
    /// found any more, and its active conversations end so nothing is left for it to answer.
    /// Refused with a conflict on [`ASSISTANT_IN_USE`] while a sender is linked to it.
    async fn delete_assistant(&self, workspace_id: WorkspaceId, id: AssistantId) -> Result<()>;

    /// The workspace's senders, oldest first.
    async fn list_senders(&self, workspace_id: WorkspaceId) -> Result<Vec<Sender>>;
    /// Applies the given changes. A new assistant must be the workspace's own and not deleted
    /// (not found otherwise, naming `assistant`).
    async fn update_sender(&self, workspace_id: WorkspaceId, id: SenderId, changes: SenderChanges) -> Result<Sender>;
    /// Hard delete (its templates go with it). Refused with a conflict on [`SENDER_IN_USE`]
    /// while any conversation references the sender: its history must keep its number, so a
    /// sender with conversations is switched off (`ai_enabled`, `status`) or re-linked instead.
    async fn delete_sender(&self, workspace_id: WorkspaceId, id: SenderId) -> Result<()>;
}

/// The conflict [`ConfigStore::delete_assistant`] reports while a sender uses the assistant.
pub const ASSISTANT_IN_USE: &str = "assistants_in_use_by_senders";
/// The conflict [`ConfigStore::delete_sender`] reports while conversations reference it.
/// What [`TenantStore::set_user_role`] refuses: demoting a workspace's only owner.
pub const LAST_OWNER: &str = "users_last_owner";

pub const SENDER_IN_USE: &str = "senders_in_use_by_conversations";

/// Conversations and their messages.
#[async_trait]
pub trait ConversationStore: Send + Sync {
    /// Stores a batch of inbound customer messages in one transaction. For each: find or
    /// create the customer and the active conversation, insert the message unless its
    /// provider id exists in the workspace (then change nothing and say `Duplicate`), refresh
    /// the window, and mark the conversation due if the message wants a reply.
    async fn ingest(&self, batch: &[InboundMessage], now: OffsetDateTime) -> Result<Vec<IngestOutcome>>;

    /// Not found also when the conversation belongs to another workspace.
    async fn get_conversation(&self, workspace_id: WorkspaceId, id: ConversationId) -> Result<Conversation>;
    /// Newest first, keyset-paginated.
    async fn list_conversations(
        &self,
        workspace_id: WorkspaceId,
        filter: &ConversationFilter,
        page: PageRequest,
    ) -> Result<Page<Conversation>>;
    /// Oldest first, after `after` (a message id of this conversation) if given.
    async fn list_messages(
        &self,
        workspace_id: WorkspaceId,
        conversation_id: ConversationId,
        after: Option<MessageId>,
        limit: u32,
    ) -> Result<Vec<Message>>;
    /// The newest `limit` messages of a conversation, oldest first (what a turn shows its model).
    async fn recent_messages(
        &self,
        workspace_id: WorkspaceId,
        conversation_id: ConversationId,
        limit: u32,
    ) -> Result<Vec<Message>>;
    /// The start of the newest message's text of each of `ids` (the workspace's), up to
    /// `chars` characters, in one query (the list's previews); conversations without messages
    /// are left out.
    async fn last_message_previews(
        &self,
        workspace_id: WorkspaceId,
        ids: &[ConversationId],
        chars: u32,
    ) -> Result<Vec<(ConversationId, String)>>;
    /// What a turn reads of its conversation's messages, in one statement: the customer
    /// messages it answers (inbound seq above the lease's `answered_seq`, oldest first) and
    /// the newest `history_limit` messages, oldest first (as [`Self::recent_messages`]).
    async fn turn_messages(&self, lease: &Lease, history_limit: u32) -> Result<(PendingMessages, Vec<Message>)>;
    /// The workspace's customers among `ids` (in no particular order).
    async fn customers_by_ids(&self, workspace_id: WorkspaceId, ids: &[CustomerId]) -> Result<Vec<Customer>>;
    /// Turns the assistant on or off for one conversation. Turning it back on hands the
    /// conversation back: what arrived while a person had it counts as answered.
    async fn set_conversation_ai(
        &self,
        workspace_id: WorkspaceId,
        id: ConversationId,
        enabled: bool,
    ) -> Result<Conversation>;
    /// Starts an API or test conversation, with the assistant's first message if it has one.
    async fn create_conversation(&self, conversation: NewConversation, now: OffsetDateTime) -> Result<Conversation>;
    /// Ends an active conversation now (nothing stays due; the customer's next message starts
    /// a new one). An ended conversation is returned as it is.
    async fn end_conversation(
        &self,
        workspace_id: WorkspaceId,
        id: ConversationId,
        now: OffsetDateTime,
    ) -> Result<Conversation>;
    /// Those of `ids` (the workspace's conversations) with at least one failed delivery.
    async fn conversations_with_failed_deliveries(
        &self,
        workspace_id: WorkspaceId,
        ids: &[ConversationId],
    ) -> Result<Vec<ConversationId>>;
    /// Merges `patch` into the conversation's variables (JSON merge patch: a `null` value
    /// removes the variable). Not found for another workspace's conversation.
    async fn merge_conversation_variables(
        &self,
        workspace_id: WorkspaceId,
        id: ConversationId,
        patch: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Conversation>;
}

/// The work queue: due conversations, claimed one worker at a time with a lease whose token
/// fences commits (DESIGN §2, §4).
#[async_trait]
pub trait WorkQueue: Send + Sync {
    /// Claims the conversation that has been due the longest and is not leased (or whose lease
    /// expired), for `lease_for`. Each claim gets a new, larger token.
    async fn claim_due(&self, owner: &str, now: OffsetDateTime, lease_for: Duration) -> Result<Option<Lease>> {
        Ok(self.claim_due_batch(owner, now, lease_for, 1).await?.pop())
    }
    /// Claims up to `limit` due, unleased conversations in one statement, longest-due first,
    /// each as [`WorkQueue::claim_due`] would (its own lease and new token), so one round trip
    /// feeds many turns.
    async fn claim_due_batch(
        &self,
        owner: &str,
        now: OffsetDateTime,
        lease_for: Duration,
        limit: u32,
    ) -> Result<Vec<Lease>>;
    /// Pushes the lease's end out; `LeaseLost` if it expired or was taken over.
    async fn extend_lease(&self, lease: &Lease, now: OffsetDateTime, lease_for: Duration) -> Result<Lease>;
    /// Gives the conversation back without committing; it stays due. A lost lease is ignored.
    async fn release_lease(&self, lease: &Lease) -> Result<()>;
    /// Commits a turn's outcome atomically, only while the lease is still held (its token
    /// current and `now` before its end); `LeaseLost` otherwise, with nothing written.
    async fn commit_turn(&self, lease: &Lease, turn: TurnCommit, now: OffsetDateTime) -> Result<Vec<MessageId>> {
        let fenced = FencedTurn { lease: lease.clone(), turn, now };
        self.commit_turns(std::slice::from_ref(&fenced)).await?.pop().flatten().ok_or(StoreError::LeaseLost)
    }
    /// Commits several turns in one transaction, each as [`WorkQueue::commit_turn`] would:
    /// one outcome per turn, in order, `None` where its lease was lost (nothing of that turn
    /// is written; the others are).
    async fn commit_turns(&self, turns: &[FencedTurn]) -> Result<Vec<Option<Vec<MessageId>>>> {
        Ok(self.commit_turns_claiming_sends(turns, None).await?.outcomes)
    }
    /// Commits as [`WorkQueue::commit_turns`] does and, given `claim_for`, claims for the
    /// outbox in the same transaction the next message in line of each conversation these
    /// turns queued a message in (as [`OutboxStore::claim_outbound`] would: an earlier unsent
    /// message holds the later ones back), leased until the group's latest `now` plus
    /// `claim_for`. The outbox sends what is claimed here ([`OutboxStore::load_claimed`])
    /// without a claim of its own: one write fewer on a reply's way out.
    async fn commit_turns_claiming_sends(
        &self,
        turns: &[FencedTurn],
        claim_for: Option<Duration>,
    ) -> Result<CommittedTurns>;
    /// When the earliest due conversation becomes due, for a worker deciding how long to sleep.
    async fn next_due_at(&self) -> Result<Option<OffsetDateTime>>;
    /// Ends up to `limit` active conversations silent for longer than their assistant's
    /// inactivity timeout (none with work due or a turn running); returns them.
    async fn end_inactive(&self, now: OffsetDateTime, limit: u32) -> Result<Vec<ConversationId>>;
    /// Claims up to `limit` ended conversations whose post-conversation extraction has not
    /// run (or whose earlier claim expired), until `now + lease_for`, oldest end first.
    async fn claim_extractions(
        &self,
        now: OffsetDateTime,
        lease_for: Duration,
        limit: u32,
    ) -> Result<Vec<Conversation>>;
    /// Records a claimed extraction's result (and adds what it cost to the conversation);
    /// dropped if the conversation was reopened meanwhile (it is extracted again at its end).
    async fn finish_extraction(&self, conversation_id: ConversationId, result: ExtractionResult) -> Result<()>;
}

/// Provider events other than messages: delivery statuses, and payloads kept for inspection.
#[async_trait]
pub trait EventStore: Send + Sync {
    /// Applies delivery statuses in one transaction. Each (workspace, provider message id,
    /// status) is recorded once; a repeat is `Duplicate` and changes nothing. The message's
    /// status only moves forward ([`DeliveryStatus::advance_to`]), and a failure keeps the
    /// provider's error. A status for a message we do not know is recorded all the same.
    async fn apply_statuses(&self, updates: &[StatusInput], now: OffsetDateTime) -> Result<Vec<StatusOutcome>>;
    /// Keeps webhook payloads that are not messages or statuses, unrouted ones, and dead
    /// letters (signed bodies we could not parse), so nothing is lost.
    async fn record_webhook_events(&self, events: &[NewWebhookEvent], now: OffsetDateTime) -> Result<()>;
    /// Newest first; `workspace_id: None` lists the events no workspace could be found for.
    async fn list_webhook_events(
        &self,
        workspace_id: Option<WorkspaceId>,
        kind: Option<WebhookEventKind>,
        limit: u32,
    ) -> Result<Vec<WebhookEvent>>;
    /// A message by its provider id, for status checks and tests.
    async fn message_by_provider_id(
        &self,
        workspace_id: WorkspaceId,
        provider_message_id: &str,
    ) -> Result<Option<Message>>;
}

/// The outbox: messages to customers waiting to be handed to their channel, in order.
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// The active conversation of a WhatsApp customer on a sender, started if there is none
    /// (a business may write first, with a template).
    async fn open_whatsapp_conversation(
        &self,
        sender: &Sender,
        customer: &PhoneNumber,
        now: OffsetDateTime,
    ) -> Result<Conversation>;
    /// Stores messages for the customer of a conversation and queues them for sending now.
    async fn enqueue_outbound(
        &self,
        workspace_id: WorkspaceId,
        conversation_id: ConversationId,
        messages: &[NewMessage],
        now: OffsetDateTime,
    ) -> Result<Vec<MessageId>>;
    /// Claims up to `limit` messages due for an attempt, each the oldest pending one of its
    /// conversation (so a conversation's messages leave in order, and one waiting for a retry
    /// holds back those after it), leased for `lease_for`.
    async fn claim_outbound(&self, now: OffsetDateTime, lease_for: Duration, limit: u32) -> Result<Vec<OutboundJob>>;
    /// Records what the channel said. `Sent` also applies any status the provider reported
    /// before we knew the message's id.
    async fn record_send_result(&self, message_id: MessageId, result: SendResult, now: OffsetDateTime) -> Result<()> {
        self.record_send_results(&[(message_id, result)], now).await
    }
    /// Records several channel answers in one transaction, each as
    /// [`OutboxStore::record_send_result`] would.
    async fn record_send_results(&self, results: &[(MessageId, SendResult)], now: OffsetDateTime) -> Result<()> {
        self.record_send_results_claiming_next(results, now, None).await.map(drop)
    }
    /// Records as [`OutboxStore::record_send_results`] does and, given `claim_for`, claims in
    /// the same transaction the next message in line of each conversation whose message was
    /// sent or failed for good (as [`OutboxStore::claim_outbound`] would), leased until `now`
    /// plus `claim_for`: a conversation's next message goes without waiting for a claim.
    async fn record_send_results_claiming_next(
        &self,
        results: &[(MessageId, SendResult)],
        now: OffsetDateTime,
        claim_for: Option<Duration>,
    ) -> Result<Vec<ClaimedSend>>;
    /// What goes with claimed messages, to send them; a message whose conversation, customer
    /// or sender is gone is left out (it stays claimed until its lease ends).
    async fn load_claimed(&self, claimed: &[ClaimedSend]) -> Result<Vec<OutboundJob>>;
    async fn set_sender_status(&self, sender_id: SenderId, status: SenderStatus) -> Result<()>;
}

/// Everything the server needs from a database.
#[async_trait]
pub trait Store:
    TenantStore
    + ConfigStore
    + ConversationStore
    + ExportStore
    + WorkQueue
    + EventStore
    + OutboxStore
    + MetricsStore
    + KnowledgeStore
    + HttpToolStore
    + BookingStore
    + SeedStore
    + SessionStore
    + crate::TemplateStore
{
    /// Applies pending migrations.
    async fn migrate(&self) -> Result<()>;
    /// One round trip, for `/readyz`.
    async fn ping(&self) -> Result<()>;
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    /// Refreshes the query planner's statistics of the tables that grew fast since they were
    /// last gathered, and names them; a backend that needs none refreshes nothing.
    async fn refresh_statistics(&self) -> Result<Vec<String>> {
        Ok(Vec::new())
    }
}

#[derive(Clone, Debug)]
pub struct NewUser {
    pub workspace_id: WorkspaceId,
    pub email: Email,
    pub role: UserRole,
    /// An argon2 PHC string.
    pub password_hash: String,
}

#[derive(Clone, Debug)]
pub struct NewAssistant {
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub system_prompt: String,
    pub first_message: Option<String>,
    pub fallback_message: Option<String>,
    pub response_delay: ResponseDelay,
    pub inactivity_timeout: InactivityTimeout,
    pub timezone: String,
    pub provider: Option<String>,
    pub model: Option<String>,
    pub temperature: Option<Temperature>,
    pub tools: Vec<ToolName>,
    pub knowledge_base_ids: Vec<KnowledgeBaseId>,
    pub extraction_schema: serde_json::Value,
    pub knowledge_mode: KnowledgeMode,
    pub data_fields: Vec<DataField>,
    pub availability: Option<Availability>,
    pub after_end: AfterEnd,
}

impl NewAssistant {
    /// An assistant with defaults for everything but its name and prompt.
    pub fn new(workspace_id: WorkspaceId, name: impl Into<String>, system_prompt: impl Into<String>) -> Self {
        Self {
            workspace_id,
            name: name.into(),
            system_prompt: system_prompt.into(),
            first_message: None,
            fallback_message: None,
            response_delay: ResponseDelay::default(),
            inactivity_timeout: InactivityTimeout::default(),
            timezone: "UTC".into(),
            provider: None,
            model: None,
            temperature: None,
            tools: Vec::new(),
            knowledge_base_ids: Vec::new(),
            extraction_schema: serde_json::json!({}),
            knowledge_mode: KnowledgeMode::default(),
            data_fields: Vec::new(),
            availability: None,
            after_end: AfterEnd::default(),
        }
    }
}

/// A partial update of an assistant: `None` leaves a field as it is; for the optional fields,
/// `Some(None)` clears it.
#[derive(Clone, Debug, Default)]
pub struct AssistantChanges {
    pub name: Option<String>,
    pub system_prompt: Option<String>,
    pub first_message: Option<Option<String>>,
    pub fallback_message: Option<Option<String>>,
    pub response_delay: Option<ResponseDelay>,
    pub inactivity_timeout: Option<InactivityTimeout>,
    pub timezone: Option<String>,
    pub provider: Option<Option<String>>,
    pub model: Option<Option<String>>,
    pub temperature: Option<Option<Temperature>>,
    pub tools: Option<Vec<ToolName>>,
    pub knowledge_base_ids: Option<Vec<KnowledgeBaseId>>,
    pub extraction_schema: Option<serde_json::Value>,
    pub knowledge_mode: Option<KnowledgeMode>,
    pub data_fields: Option<Vec<DataField>>,
    pub availability: Option<Option<Availability>>,
    pub after_end: Option<AfterEnd>,
}

impl AssistantChanges {
    /// `assistant` with these changes made (both backends write the result back whole).
    pub fn apply_to(self, mut a: Assistant) -> Assistant {
        fn set<T>(field: &mut T, value: Option<T>) {
            if let Some(value) = value {
                *field = value;
            }
        }
        set(&mut a.name, self.name);
        set(&mut a.system_prompt, self.system_prompt);
        set(&mut a.first_message, self.first_message);
        set(&mut a.fallback_message, self.fallback_message);
        set(&mut a.response_delay, self.response_delay);
        set(&mut a.inactivity_timeout, self.inactivity_timeout);
        set(&mut a.timezone, self.timezone);
        set(&mut a.provider, self.provider);
        set(&mut a.model, self.model);
        set(&mut a.temperature, self.temperature);
        set(&mut a.tools, self.tools);
        set(&mut a.knowledge_base_ids, self.knowledge_base_ids);
        set(&mut a.extraction_schema, self.extraction_schema);
        set(&mut a.knowledge_mode, self.knowledge_mode);
        set(&mut a.data_fields, self.data_fields);
        set(&mut a.availability, self.availability);
        set(&mut a.after_end, self.after_end);
        a
    }
}

/// A partial update of a sender: `None` leaves a field as it is. The provider and its number
/// id are what the sender is; they do not change.
#[derive(Clone, Debug, Default)]
pub struct SenderChanges {
    pub display_phone: Option<PhoneNumber>,
    pub access_token: Option<Secret>,
    pub assistant_id: Option<AssistantId>,
    pub ai_enabled: Option<bool>,
    pub status: Option<SenderStatus>,
}

impl SenderChanges {
    /// `sender` with these changes made.
    pub fn apply_to(self, mut s: Sender) -> Sender {
        if let Some(v) = self.display_phone {
            s.display_phone = v;
        }
        if let Some(v) = self.access_token {
            s.access_token = v;
        }
        if let Some(v) = self.assistant_id {
            s.assistant_id = v;
        }
        if let Some(v) = self.ai_enabled {
            s.ai_enabled = v;
        }
        if let Some(v) = self.status {
            s.status = v;
        }
        s
    }
}

#[derive(Clone, Debug)]
pub struct NewSender {
    pub workspace_id: WorkspaceId,
    pub provider: Provider,
    pub provider_sender_id: String,
    pub display_phone: PhoneNumber,
    pub access_token: Secret,
    pub assistant_id: AssistantId,
    pub ai_enabled: bool,
    pub status: SenderStatus,
}

/// Filters of the conversation list (DESIGN §8); `None` means "any".
#[derive(Clone, Debug, Default)]
pub struct ConversationFilter {
    pub kind: Option<ConversationType>,
    pub assistant_id: Option<AssistantId>,
    pub sender_id: Option<SenderId>,
    pub status: Option<ConversationStatus>,
    /// Customer phone, business-scoped id or external identifier, matched exactly.
    pub customer: Option<String>,
    /// Created at or after.
    pub from: Option<OffsetDateTime>,
    /// Created before.
    pub to: Option<OffsetDateTime>,
    /// Only conversations with at least one failed delivery.
    pub with_failed_deliveries: bool,
}

/// An API or test conversation started explicitly (WhatsApp ones start with the customer).
#[derive(Clone, Debug)]
pub struct NewConversation {
    pub workspace_id: WorkspaceId,
    pub assistant_id: AssistantId,
    pub kind: ConversationType,
    /// The caller's name for the customer; a new anonymous customer when `None`.
    pub customer_identifier: Option<String>,
    pub variables: serde_json::Map<String, serde_json::Value>,
    /// Stored as the assistant's opening message.
    pub first_message: Option<String>,
}

/// Where a page of a keyset-paginated list starts: after the row with this position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: OffsetDateTime,
    pub id: ConversationId,
}

impl Cursor {
    /// An opaque, URL-safe token.
    pub fn encode(&self) -> String {
        format!("{}_{}", self.created_at.unix_timestamp_nanos() / 1000, self.id.as_uuid().simple())
    }

    pub fn decode(token: &str) -> Option<Self> {
        let (micros, id) = token.split_once('_')?;
        let micros: i128 = micros.parse().ok()?;
        let created_at = OffsetDateTime::from_unix_timestamp_nanos(micros.checked_mul(1000)?).ok()?;
        Some(Self { created_at, id: id.parse().ok()? })
    }
}

#[derive(Clone, Copy, Debug)]
pub struct PageRequest {
    pub limit: u32,
    pub after: Option<Cursor>,
}

impl PageRequest {
    pub const MAX_LIMIT: u32 = 100;

    pub fn first(limit: u32) -> Self {
        Self { limit: limit.clamp(1, Self::MAX_LIMIT), after: None }
    }
}

#[derive(Clone, Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Cursor>,
}

/// A claim on one conversation. Only the holder of the current token may commit, and only
/// before `until`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    pub conversation_id: ConversationId,
    pub workspace_id: WorkspaceId,
    pub owner: String,
    pub token: i64,
    pub until: OffsetDateTime,
    /// Customer messages with an inbound seq up to this were answered by earlier turns.
    pub answered_seq: i64,
}

/// Customer messages waiting for an answer, and the inbound seq they reach up to.
#[derive(Clone, Debug)]
pub struct PendingMessages {
    pub messages: Vec<Message>,
    /// Pass this as [`TurnCommit::answered_through_seq`] when the turn answered them all.
    pub through_seq: i64,
}

/// A message a turn produced (assistant reply, tool call, system note, agent message).
#[derive(Clone, Debug)]
pub struct NewMessage {
    pub role: Role,
    pub kind: MessageKind,
    pub content: String,
    pub payload: serde_json::Value,
    pub cost: MicroUsd,
    pub usage: Option<Usage>,
    pub tool_call: Option<ToolCall>,
    /// On the first assistant message of a turn: its commit time minus when confab received the
    /// oldest customer message it answers. Feeds the response-time metrics.
    pub response_time_ms: Option<i64>,
}

impl NewMessage {
    pub fn text(role: Role, content: impl Into<String>) -> Self {
        Self {
            role,
            kind: MessageKind::Text,
            content: content.into(),
            payload: serde_json::Value::Null,
            cost: MicroUsd::ZERO,
            usage: None,
            tool_call: None,
            response_time_ms: None,
        }
    }
}

/// A turn to commit with [`WorkQueue::commit_turns`]: its lease, its outcome, and when it was
/// committed (checked against the lease's end).
#[derive(Clone, Debug)]
pub struct FencedTurn {
    pub lease: Lease,
    pub turn: TurnCommit,
    pub now: OffsetDateTime,
}

/// What [`WorkQueue::commit_turns_claiming_sends`] did.
#[derive(Clone, Debug)]
pub struct CommittedTurns {
    /// One per turn, in order: the ids of its stored messages, or `None` where its lease was
    /// lost.
    pub outcomes: Vec<Option<Vec<MessageId>>>,
    /// The messages claimed for the outbox.
    pub claimed: Vec<ClaimedSend>,
}

/// A message claimed for the outbox, before what goes with it is loaded
/// ([`OutboxStore::load_claimed`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClaimedSend {
    pub message_id: MessageId,
    pub conversation_id: ConversationId,
    /// Attempts made before this one.
    pub attempts: i64,
}

/// The outcome of one turn, committed with the lease's fencing token.
#[derive(Clone, Debug)]
pub struct TurnCommit {
    /// The highest inbound seq among the customer messages this turn answered; messages that
    /// arrived later keep the conversation due.
    pub answered_through_seq: i64,
    pub messages: Vec<NewMessage>,
    /// Hand the conversation to a person: AI off for it, and nothing left due.
    pub hand_over: bool,
    /// End the conversation; the customer's next message starts a new one.
    pub end: bool,
    /// Merged into the conversation's variables (a JSON merge patch: a `null` value removes
    /// the variable), e.g. what `collect_data` validated.
    pub variables: serde_json::Map<String, serde_json::Value>,
}

impl TurnCommit {
    /// A turn that answers nothing but clears the work up to `answered_through_seq`.
    pub fn nothing(answered_through_seq: i64) -> Self {
        Self {
            answered_through_seq,
            messages: Vec::new(),
            hand_over: false,
            end: false,
            variables: serde_json::Map::new(),
        }
    }
}

/// What a post-conversation extraction produced.
#[derive(Clone, Debug)]
pub struct ExtractionResult {
    /// `Done`, `Failed` or `Skipped`.
    pub status: ExtractionStatus,
    pub extracted: serde_json::Map<String, serde_json::Value>,
    pub cost: MicroUsd,
    pub tokens: i64,
}

/// One delivery status reported by a provider.
#[derive(Clone, Debug)]
pub struct StatusInput {
    pub workspace_id: WorkspaceId,
    pub provider_message_id: String,
    pub status: DeliveryStatus,
    /// When the provider says it happened.
    pub occurred_at: OffsetDateTime,
    pub error: Option<DeliveryError>,
    /// The provider's pricing object, or `Null`.
    pub pricing: serde_json::Value,
    /// The channel fee this status reports (from `pricing` and the workspace's price table),
    /// added to the message's cost once — whichever of its statuses comes first.
    pub fee: Option<MicroUsd>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusOutcome {
    /// Recorded; the message (of `conversation_id`) now has `status` (unchanged if the update
    /// came late).
    Applied { message_id: MessageId, conversation_id: ConversationId, status: DeliveryStatus },
    /// This status of this message was seen before.
    Duplicate,
    /// Recorded, but no message has this provider id (yet).
    UnknownMessage,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WebhookEventKind {
    /// A payload field confab keeps but does not act on yet (template updates, account events…).
    Event,
    /// For a number no sender is linked to.
    Unrouted,
    /// A signed payload that could not be parsed.
    DeadLetter,
}

impl WebhookEventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Event => "event",
            Self::Unrouted => "unrouted",
            Self::DeadLetter => "dead_letter",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "event" => Some(Self::Event),
            "unrouted" => Some(Self::Unrouted),
            "dead_letter" => Some(Self::DeadLetter),
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct NewWebhookEvent {
    pub workspace_id: Option<WorkspaceId>,
    pub provider: Provider,
    pub kind: WebhookEventKind,
    /// The payload field, e.g. `message_template_status_update`.
    pub field: Option<String>,
    pub phone_number_id: Option<String>,
    /// Why it was kept rather than acted on.
    pub reason: Option<String>,
    /// Exactly what arrived (a dead letter's raw bytes; otherwise the item's JSON).
    pub body: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookEvent {
    pub id: uuid::Uuid,
    pub workspace_id: Option<WorkspaceId>,
    pub provider: Provider,
    pub kind: WebhookEventKind,
    pub field: Option<String>,
    pub phone_number_id: Option<String>,
    pub reason: Option<String>,
    pub body: Vec<u8>,
    pub received_at: OffsetDateTime,
}

/// A message to send, with what the sender needs to address it.
#[derive(Clone, Debug)]
pub struct OutboundJob {
    pub message: Message,
    pub conversation: Conversation,
    pub customer: Customer,
    /// The conversation's WhatsApp number, if it has one.
    pub sender: Option<Sender>,
    /// Attempts made before this one.
    pub attempts: i64,
}

/// What a channel did with one outbound message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendResult {
    Sent {
        provider_message_id: String,
    },
    /// Try again at `at`; `error` says why this attempt failed.
    Retry {
        at: OffsetDateTime,
        error: DeliveryError,
    },
    /// Final: the message is failed with `error`.
    Failed {
        error: DeliveryError,
    },
}
