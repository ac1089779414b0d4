//! One ingest batch worked out in memory, shared by both backends (the semantics of
//! [`crate::ConversationStore::ingest`] written once). A backend reads what the batch touches
//! in a few set-based statements — the provider ids already stored, the customers its
//! identifiers match, those customers' active conversations — hands the rows in, and writes
//! what the plan says: new customers, what existing ones learn, new conversations, the
//! messages, and one counter update per conversation. Its statements per batch therefore do
//! not grow with the number of messages.
//!
//! The plan follows the batch in order exactly as storing the messages one by one would: the
//! first of two messages with one provider id wins, a customer created or a conversation
//! opened by one message is found by the next, inbound seqs count up per conversation.

use crate::rollup::{IngestCounters, MetricDeltas};
use crate::rows::RowExt;
use crate::values::{observed_status, ConversationKey, CustomerKeys};
use crate::{Result, StoreError};
use confab_domain::{
    AssistantId, ConversationId, ConversationType, CustomerId, InboundMessage, IngestOutcome, MessageId, MessageKind,
    Role, SenderId, WorkspaceId,
};
use std::collections::{HashMap, HashSet};
use time::OffsetDateTime;

/// The columns [`customer_row`] reads.
pub(crate) const CUSTOMER_ROW_COLUMNS: &str =
    "id, workspace_id, phone, business_scoped_user_id, external_identifier, name, created_at";
/// The columns [`conversation_row`] reads.
pub(crate) const CONVERSATION_ROW_COLUMNS: &str =
    "id, workspace_id, type, assistant_id, sender_id, customer_id, status, created_at, inbound_seq";

/// A customer as ingest needs it.
#[derive(Clone, Debug)]
pub(crate) struct CustomerRow {
    pub id: CustomerId,
    pub workspace_id: WorkspaceId,
    pub phone: Option<String>,
    pub bsuid: Option<String>,
    pub external: Option<String>,
    pub name: Option<String>,
    pub created_at: OffsetDateTime,
}

/// A conversation as ingest needs it.
#[derive(Clone, Debug)]
pub(crate) struct ConversationRow {
    pub id: ConversationId,
    pub workspace_id: WorkspaceId,
    pub kind: ConversationType,
    pub assistant_id: AssistantId,
    pub sender_id: Option<SenderId>,
    pub customer_id: CustomerId,
    pub active: bool,
    pub created_at: OffsetDateTime,
    pub inbound_seq: i64,
}

pub(crate) fn customer_row(row: &impl RowExt) -> Result<CustomerRow> {
    Ok(CustomerRow {
        id: row.uuid("id")?.into(),
        workspace_id: row.uuid("workspace_id")?.into(),
        phone: row.opt_text("phone")?,
        bsuid: row.opt_text("business_scoped_user_id")?,
        external: row.opt_text("external_identifier")?,
        name: row.opt_text("name")?,
        created_at: row.time("created_at")?,
    })
}

pub(crate) fn conversation_row(row: &impl RowExt) -> Result<ConversationRow> {
    Ok(ConversationRow {
        id: row.uuid("id")?.into(),
        workspace_id: row.uuid("workspace_id")?.into(),
        kind: ConversationType::parse(&row.text("type")?)?,
        assistant_id: row.uuid("assistant_id")?.into(),
        sender_id: row.opt_uuid("sender_id")?.map(Into::into),
        customer_id: row.uuid("customer_id")?.into(),
        active: row.text("status")? == "active",
        created_at: row.time("created_at")?,
        inbound_seq: row.int("inbound_seq")?,
    })
}

/// The identifiers of one workspace's customers a batch may match.
#[derive(Debug, Default)]
pub(crate) struct CustomerLookup {
    pub phones: Vec<String>,
    pub bsuids: Vec<String>,
    pub externals: Vec<String>,
}

/// A message row to insert: an inbound message, or the system note stored right after one.
#[derive(Debug, Clone)]
pub(crate) struct MessageRow<'a> {
    pub id: MessageId,
    pub workspace_id: WorkspaceId,
    pub conversation_id: ConversationId,
    pub role: Role,
    pub kind: MessageKind,
    pub content: &'a str,
    pub payload: &'a serde_json::Value,
    pub provider_message_id: Option<&'a str>,
    pub reply_to: Option<&'a str>,
    pub forwarded: bool,
    pub inbound_seq: Option<i64>,
    pub sent_at: OffsetDateTime,
    pub created_at: OffsetDateTime,
}

impl MessageRow<'_> {
    pub fn status(&self) -> &'static str {
        observed_status(self.role).as_str()
    }
}

/// What a batch adds to one conversation's counters (applied as
/// `inbound_seq = COALESCE(seq, inbound_seq)`, `message_count + messages`,
/// `customer_message_count + customer_messages`, `last_customer_message_at` raised to
/// `last_customer_message_at`, `last_message_at` raised to now, `due_at = due_at` when the
/// conversation's AI is on and `due_at` is given).
#[derive(Debug, Clone)]
pub(crate) struct ConversationDelta {
    pub id: ConversationId,
    pub seq: Option<i64>,
    pub messages: i64,
    pub customer_messages: i64,
    pub last_customer_message_at: Option<OffsetDateTime>,
    pub due_at: Option<OffsetDateTime>,
}

#[derive(Debug)]
struct Planned {
    index: usize,
    id: MessageId,
    conversation: usize,
    created: bool,
    seq: Option<i64>,
    note: Option<MessageId>,
}

/// The batch, worked out step by step (see the module docs for the order of the steps).
pub(crate) struct IngestPlan<'a> {
    batch: &'a [InboundMessage],
    now: OffsetDateTime,
    fresh: Vec<bool>,
    customers: Vec<CustomerRow>,
    known_customers: usize,
    changed_customers: Vec<usize>,
    /// (workspace, identifier) → the customer with it, per kind of identifier
    by_phone: HashMap<(WorkspaceId, String), usize>,
    by_bsuid: HashMap<(WorkspaceId, String), usize>,
    by_external: HashMap<(WorkspaceId, String), usize>,
    /// per message: its customer (an index into `customers`), when it names no conversation
    message_customer: Vec<Option<usize>>,
    conversations: Vec<ConversationRow>,
    known_conversations: usize,
    /// how many of the known conversations the backend reopened
    reopened: usize,
    by_customer: HashMap<CustomerId, Vec<usize>>,
    planned: Vec<Planned>,
}

impl<'a> IngestPlan<'a> {
    /// Fails for a message that names neither a conversation nor a customer.
    pub fn new(batch: &'a [InboundMessage], now: OffsetDateTime) -> Result<Self> {
        for m in batch.iter().filter(|m| m.conversation_id.is_none()) {
            CustomerKeys::of_inbound(m)?;
        }
        Ok(Self {
            batch,
            now,
            fresh: vec![true; batch.len()],
            customers: Vec::new(),
            known_customers: 0,
            changed_customers: Vec::new(),
            by_phone: HashMap::new(),
            by_bsuid: HashMap::new(),
            by_external: HashMap::new(),
            message_customer: vec![None; batch.len()],
            conversations: Vec::new(),
            known_conversations: 0,
            reopened: 0,
            by_customer: HashMap::new(),
            planned: Vec::new(),
        })
    }

    /// The batch's provider ids per workspace, to look up among stored messages.
    pub fn provider_ids(&self) -> HashMap<WorkspaceId, Vec<&'a str>> {
        let mut ids: HashMap<WorkspaceId, Vec<&str>> = HashMap::new();
        for m in self.batch {
            if let Some(id) = &m.provider_message_id {
                ids.entry(m.workspace_id).or_default().push(id);
            }
        }
        ids
    }

    /// Step 1: the provider ids already stored (per workspace). A message whose id is stored,
    /// or came earlier in the batch, is a duplicate.
    pub fn mark_stored(&mut self, stored: &HashSet<(WorkspaceId, String)>) {
        let mut seen: HashSet<(WorkspaceId, &str)> = HashSet::new();
        for (i, m) in self.batch.iter().enumerate() {
            if let Some(id) = m.provider_message_id.as_deref() {
                let fresh = !stored.contains(&(m.workspace_id, id.to_string())) && seen.insert((m.workspace_id, id));
                self.fresh[i] = fresh;
            }
        }
    }

    fn fresh_messages(&self) -> impl Iterator<Item = (usize, &'a InboundMessage)> + '_ {
        self.batch.iter().enumerate().filter(|(i, _)| self.fresh[*i])
    }

    /// The identifiers to read customers by, per workspace.
    pub fn customer_lookup(&self) -> HashMap<WorkspaceId, CustomerLookup> {
        let mut lookup: HashMap<WorkspaceId, CustomerLookup> = HashMap::new();
        for (_, m) in self.fresh_messages().filter(|(_, m)| m.conversation_id.is_none()) {
            let keys = CustomerKeys::of(&m.customer);
            let entry = lookup.entry(m.workspace_id).or_default();
            entry.phones.extend(keys.phone);
            entry.bsuids.extend(keys.bsuid);
            entry.externals.extend(keys.external);
        }
        lookup
    }

    /// Step 2: every stored customer of the workspace that [`Self::customer_lookup`] matches.
    /// Finds each message's customer (the oldest one any identifier matches) or makes it, and
    /// what each learns (a name, or the other WhatsApp identifier when no one has it yet).
    /// May be called again with a fresh read; it starts over.
    pub fn resolve_customers(&mut self, stored: Vec<CustomerRow>) {
        self.known_customers = stored.len();
        self.customers = Vec::with_capacity(stored.len());
        self.changed_customers.clear();
        self.by_phone.clear();
        self.by_bsuid.clear();
        self.by_external.clear();
        for row in stored {
            self.add_customer(row);
        }
        for i in 0..self.batch.len() {
            let m = &self.batch[i];
            if !self.fresh[i] || m.conversation_id.is_some() {
                continue;
            }
            let keys = CustomerKeys::of(&m.customer);
            let index = match self.find_customer(m.workspace_id, &keys) {
                Some(index) => {
                    self.learn(index, &keys, m.customer_name.as_deref());
                    index
                }
                None => self.add_customer(CustomerRow {
                    id: CustomerId::new(),
                    workspace_id: m.workspace_id,
                    phone: keys.phone,
                    bsuid: keys.bsuid,
                    external: keys.external,
                    name: m.customer_name.clone(),
                    created_at: self.now,
                }),
            };
            self.message_customer[i] = Some(index);
        }
    }

    fn add_customer(&mut self, row: CustomerRow) -> usize {
        let index = self.customers.len();
        let workspace_id = row.workspace_id;
        for (map, key) in
            [(&mut self.by_phone, &row.phone), (&mut self.by_bsuid, &row.bsuid), (&mut self.by_external, &row.external)]
        {
            if let Some(key) = key {
                map.insert((workspace_id, key.clone()), index);
            }
        }
        self.customers.push(row);
        index
    }

    /// The oldest customer any of the identifiers matches.
    fn find_customer(&self, workspace_id: WorkspaceId, keys: &CustomerKeys) -> Option<usize> {
        [(&self.by_phone, &keys.phone), (&self.by_bsuid, &keys.bsuid), (&self.by_external, &keys.external)]
            .into_iter()
            .filter_map(|(map, key)| map.get(&(workspace_id, key.clone()?)).copied())
            .min_by_key(|&i| (self.customers[i].created_at, self.customers[i].id.as_uuid()))
    }

    fn learn(&mut self, index: usize, keys: &CustomerKeys, name: Option<&str>) {
        let workspace_id = self.customers[index].workspace_id;
        let mut changed = false;
        if let Some(name) = name.filter(|n| self.customers[index].name.as_deref() != Some(*n)) {
            self.customers[index].name = Some(name.to_string());
            changed = true;
        }
        if let Some(phone) = &keys.phone {
            let key = (workspace_id, phone.clone());
            if self.customers[index].phone.is_none() && !self.by_phone.contains_key(&key) {
                self.customers[index].phone = Some(phone.clone());
                self.by_phone.insert(key, index);
                changed = true;
            }
        }
        if let Some(bsuid) = &keys.bsuid {
            let key = (workspace_id, bsuid.clone());
            if self.customers[index].bsuid.is_none() && !self.by_bsuid.contains_key(&key) {
                self.customers[index].bsuid = Some(bsuid.clone());
                self.by_bsuid.insert(key, index);
                changed = true;
            }
        }
        if changed && index < self.known_customers && !self.changed_customers.contains(&index) {
            self.changed_customers.push(index);
        }
    }

    /// Customers to insert, in key order (so concurrent batches insert in one order).
    pub fn new_customers(&self) -> Vec<&CustomerRow> {
        let mut new: Vec<&CustomerRow> = self.customers[self.known_customers..].iter().collect();
        new.sort_by(|a, b| {
            (a.workspace_id, &a.phone, &a.bsuid, &a.external).cmp(&(b.workspace_id, &b.phone, &b.bsuid, &b.external))
        });
        new
    }

    /// Stored customers whose name or identifiers change, as they become.
    pub fn changed_customers(&self) -> impl Iterator<Item = &CustomerRow> {
        self.changed_customers.iter().map(|&i| &self.customers[i])
    }

    /// The customers whose active conversations to read, and the conversations messages name.
    pub fn conversation_lookup(&self) -> (Vec<CustomerId>, Vec<ConversationId>) {
        let mut customers: Vec<CustomerId> = self.customers[..self.known_customers].iter().map(|c| c.id).collect();
        customers.sort_by_key(|c| c.as_uuid());
        let mut named: Vec<ConversationId> = self.fresh_messages().filter_map(|(_, m)| m.conversation_id).collect();
        named.sort_by_key(|c| c.as_uuid());
        named.dedup();
        (customers, named)
    }

    /// Step 3: the active conversations of [`Self::conversation_lookup`]'s customers and the
    /// named conversations (whatever their status). Fails when a named conversation is not
    /// the message's workspace's. Answers the (key, customer) pairs of stored customers that
    /// have no active conversation: the backend reopens what it may
    /// ([`Self::add_reopened`]); the plan opens the rest.
    pub fn resolve_conversations(
        &mut self,
        stored: Vec<ConversationRow>,
    ) -> Result<Vec<(ConversationKey, CustomerId)>> {
        self.known_conversations = stored.len();
        self.reopened = 0;
        self.conversations = Vec::with_capacity(stored.len());
        self.by_customer.clear();
        for row in stored {
            self.add_conversation(row);
        }
        let mut missing: Vec<(ConversationKey, CustomerId)> = Vec::new();
        for (i, m) in self.fresh_messages() {
            if let Some(id) = m.conversation_id {
                if !self.conversations.iter().any(|c| c.id == id && c.workspace_id == m.workspace_id) {
                    return Err(StoreError::NotFound("conversation"));
                }
                continue;
            }
            let Some(customer) = self.message_customer[i].filter(|&c| c < self.known_customers) else { continue };
            let key = ConversationKey::of_inbound(m);
            let customer_id = self.customers[customer].id;
            let known = self.find_active(&key, customer_id).is_some()
                || missing.iter().any(|(k, c)| *c == customer_id && same_key(k, &key));
            if !known {
                missing.push((key, customer_id));
            }
        }
        Ok(missing)
    }

    /// Conversations the backend reopened for missing keys.
    pub fn add_reopened(&mut self, reopened: Vec<ConversationRow>) {
        self.known_conversations += reopened.len();
        self.reopened += reopened.len();
        for row in reopened {
            self.add_conversation(row);
        }
    }

    fn add_conversation(&mut self, row: ConversationRow) -> usize {
        let index = self.conversations.len();
        self.by_customer.entry(row.customer_id).or_default().push(index);
        self.conversations.push(row);
        index
    }

    /// A WhatsApp number has one active conversation per customer, whatever its assistant;
    /// other channels the newest active one per (assistant, type).
    fn find_active(&self, key: &ConversationKey, customer_id: CustomerId) -> Option<usize> {
        self.by_customer
            .get(&customer_id)?
            .iter()
            .copied()
            .filter(|&i| {
                let c = &self.conversations[i];
                c.active
                    && match key.sender_id {
                        Some(sender_id) => c.sender_id == Some(sender_id),
                        None => {
                            c.sender_id.is_none()
                                && c.workspace_id == key.workspace_id
                                && c.assistant_id == key.assistant_id
                                && c.kind == key.kind
                        }
                    }
            })
            .max_by_key(|&i| (self.conversations[i].created_at, self.conversations[i].id.as_uuid()))
    }

    /// Step 4: each new message's conversation (opened when there is none), id and inbound seq.
    pub fn assign(&mut self) {
        self.planned.clear();
        for i in 0..self.batch.len() {
            if !self.fresh[i] {
                continue;
            }
            let m = &self.batch[i];
            let (conversation, created) = match (m.conversation_id, self.message_customer[i]) {
                (Some(id), _) => (self.conversations.iter().position(|c| c.id == id).unwrap_or(0), false),
                (None, Some(customer)) => {
                    let key = ConversationKey::of_inbound(m);
                    let customer_id = self.customers[customer].id;
                    match self.find_active(&key, customer_id) {
                        Some(found) => (found, false),
                        None => {
                            let opened = self.add_conversation(ConversationRow {
                                id: ConversationId::new(),
                                workspace_id: key.workspace_id,
                                kind: key.kind,
                                assistant_id: key.assistant_id,
                                sender_id: key.sender_id,
                                customer_id,
                                active: true,
                                created_at: self.now,
                                inbound_seq: 0,
                            });
                            (opened, true)
                        }
                    }
                }
                (None, None) => continue,
            };
            let seq = (m.role == Role::User && m.wants_reply).then(|| {
                let row = &mut self.conversations[conversation];
                row.inbound_seq += 1;
                row.inbound_seq
            });
            let id = MessageId::new();
            let note = m.system_note.as_ref().map(|_| MessageId::new());
            self.planned.push(Planned { index: i, id, conversation, created, seq, note });
        }
    }

    /// Conversations to insert (after [`Self::assign`]), in customer order.
    pub fn new_conversations(&self) -> Vec<&ConversationRow> {
        let mut new: Vec<&ConversationRow> = self.conversations[self.known_conversations..].iter().collect();
        new.sort_by_key(|c| (c.customer_id.as_uuid(), c.id.as_uuid()));
        new
    }

    /// The new messages to insert (after [`Self::assign`]).
    pub fn messages(&self) -> Vec<MessageRow<'a>> {
        self.planned
            .iter()
            .map(|p| {
                let m = &self.batch[p.index];
                MessageRow {
                    id: p.id,
                    workspace_id: m.workspace_id,
                    conversation_id: self.conversations[p.conversation].id,
                    role: m.role,
                    kind: m.kind,
                    content: &m.content,
                    payload: &m.payload,
                    provider_message_id: m.provider_message_id.as_deref(),
                    reply_to: m.reply_to.as_deref(),
                    forwarded: m.forwarded,
                    inbound_seq: p.seq,
                    sent_at: m.sent_at,
                    created_at: self.now,
                }
            })
            .collect()
    }

    /// Step 5: given the messages the insert stored (a concurrent ingest may have stored some
    /// first), what else to write and what to answer.
    pub fn settle(&self, inserted: &HashSet<MessageId>) -> Settled<'a> {
        let mut outcomes = vec![IngestOutcome::Duplicate; self.batch.len()];
        let mut notes = Vec::new();
        let mut deltas: Vec<ConversationDelta> = Vec::new();
        let mut delta_of: HashMap<ConversationId, usize> = HashMap::new();
        let mut metrics = MetricDeltas {
            conversations_started: self.conversations[self.known_conversations..]
                .iter()
                .map(|c| c.id.as_uuid())
                .collect(),
            ..MetricDeltas::default()
        };
        for p in self.planned.iter().filter(|p| inserted.contains(&p.id)) {
            let m = &self.batch[p.index];
            let conversation = &self.conversations[p.conversation];
            outcomes[p.index] = IngestOutcome::Stored {
                conversation_id: conversation.id,
                message_id: p.id,
                conversation_created: p.created,
            };
            metrics.messages_stored.push(p.id.as_uuid());
            let at = *delta_of.entry(conversation.id).or_insert_with(|| {
                deltas.push(ConversationDelta {
                    id: conversation.id,
                    seq: None,
                    messages: 0,
                    customer_messages: 0,
                    last_customer_message_at: None,
                    due_at: None,
                });
                deltas.len() - 1
            });
            let delta = &mut deltas[at];
            delta.messages += 1;
            if let Some(seq) = p.seq {
                delta.seq = Some(seq);
                delta.due_at = Some(self.now + m.response_delay.as_duration());
            }
            if m.role == Role::User {
                delta.customer_messages += 1;
                delta.last_customer_message_at = delta.last_customer_message_at.max(Some(m.sent_at));
            }
            if let (Some(id), Some(note)) = (p.note, &m.system_note) {
                delta.messages += 1;
                metrics.messages_stored.push(id.as_uuid());
                notes.push(MessageRow {
                    id,
                    workspace_id: m.workspace_id,
                    conversation_id: conversation.id,
                    role: Role::System,
                    kind: MessageKind::Text,
                    content: note,
                    payload: &serde_json::Value::Null,
                    provider_message_id: None,
                    reply_to: None,
                    forwarded: false,
                    inbound_seq: None,
                    sent_at: self.now,
                    created_at: self.now,
                });
            }
        }
        Settled { outcomes, notes, deltas, metrics }
    }
}

impl IngestPlan<'_> {
    /// What the batch adds to the metrics rollup, counted from the plan instead of read back
    /// from the rows written: one [`IngestCounters`] per (workspace, type, assistant) of the
    /// conversations it touched, all on the day of `now` (every row the batch writes is
    /// created then). The same numbers `MetricDeltas` would make the backend count: a new
    /// conversation starts one; each stored message (system notes included) is one message;
    /// a customer message is one customer message, answered when its conversation has a reply
    /// (assistant or agent message) created at or after it — which, since a batch that stores
    /// a reply is not counted here, is a reply stored before the batch at or after `now`:
    /// `replied_since_now` holds those conversations (of the ones the backend read).
    ///
    /// `None` when the batch stored a reply (it also answers earlier customer messages, and an
    /// assistant message may carry an LLM failure) or reopened a conversation (whose replies
    /// the backend did not read): then the backend counts [`Settled::metrics`] from the rows.
    pub fn counted_metrics(
        &self,
        inserted: &HashSet<MessageId>,
        replied_since_now: &HashSet<ConversationId>,
    ) -> Option<Vec<IngestCounters>> {
        if self.reopened > 0 {
            return None;
        }
        let mut rows: Vec<IngestCounters> = Vec::new();
        let row_of = |rows: &mut Vec<IngestCounters>, c: &ConversationRow| -> usize {
            let found = rows
                .iter()
                .position(|r| r.workspace_id == c.workspace_id && r.kind == c.kind && r.assistant_id == c.assistant_id);
            found.unwrap_or_else(|| {
                rows.push(IngestCounters {
                    workspace_id: c.workspace_id,
                    kind: c.kind,
                    assistant_id: c.assistant_id,
                    conversations_started: 0,
                    messages: 0,
                    customer_messages: 0,
                    answered_customer_messages: 0,
                });
                rows.len() - 1
            })
        };
        for c in &self.conversations[self.known_conversations..] {
            let at = row_of(&mut rows, c);
            rows[at].conversations_started += 1;
        }
        for p in self.planned.iter().filter(|p| inserted.contains(&p.id)) {
            let m = &self.batch[p.index];
            if matches!(m.role, Role::Assistant | Role::Agent) {
                return None;
            }
            let c = &self.conversations[p.conversation];
            let at = row_of(&mut rows, c);
            let row = &mut rows[at];
            row.messages += 1 + i64::from(p.note.is_some() && m.system_note.is_some());
            if m.role == Role::User {
                row.customer_messages += 1;
                row.answered_customer_messages += i64::from(replied_since_now.contains(&c.id));
            }
        }
        Some(rows)
    }
}

/// What a batch ends with: the answers, and the writes that follow the message insert.
pub(crate) struct Settled<'a> {
    /// One per message of the batch, in its order.
    pub outcomes: Vec<IngestOutcome>,
    /// System notes of stored messages.
    pub notes: Vec<MessageRow<'a>>,
    /// One per conversation that got messages.
    pub deltas: Vec<ConversationDelta>,
    /// What the batch adds to the metrics rollup: the conversations it opened and every
    /// message it stored (system notes included).
    pub metrics: MetricDeltas,
}

fn same_key(a: &ConversationKey, b: &ConversationKey) -> bool {
    match (a.sender_id, b.sender_id) {
        (Some(x), Some(y)) => x == y,
        (None, None) => a.workspace_id == b.workspace_id && a.assistant_id == b.assistant_id && a.kind == b.kind,
        _ => false,
    }
}
