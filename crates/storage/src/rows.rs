//! Row → domain mapping shared by both backends. Each backend implements [`RowExt`] for its
//! row type (the two store times differently: SQLite as unix microseconds, PostgreSQL as
//! timestamptz); everything above that is written once here, with the column lists the
//! queries select.

use crate::{Cursor, Lease, Page, PendingMessages, StoreError};
use confab_domain::{
    AfterEnd, ApiKey, Assistant, Booking, BookingStatus, Conversation, ConversationStatus, ConversationType,
    DeliveryError, DeliveryStatus, Email, ExtractionStatus, InactivityTimeout, KnowledgeMode, Message, MessageId,
    MessageKind, MicroUsd, PhoneNumber, Provider, ResponseDelay, Role, Secret, Sender, SenderStatus, Temperature,
    Usage, User, UserRole, Workspace,
};
use time::OffsetDateTime;
use uuid::Uuid;

type Result<T> = std::result::Result<T, StoreError>;

pub(crate) trait RowExt {
    fn uuid(&self, col: &str) -> Result<Uuid>;
    fn opt_uuid(&self, col: &str) -> Result<Option<Uuid>>;
    fn time(&self, col: &str) -> Result<OffsetDateTime>;
    fn opt_time(&self, col: &str) -> Result<Option<OffsetDateTime>>;
    fn text(&self, col: &str) -> Result<String>;
    fn opt_text(&self, col: &str) -> Result<Option<String>>;
    fn int(&self, col: &str) -> Result<i64>;
    fn opt_int(&self, col: &str) -> Result<Option<i64>>;
    fn opt_float(&self, col: &str) -> Result<Option<f64>>;
    fn boolean(&self, col: &str) -> Result<bool>;
    fn json(&self, col: &str) -> Result<serde_json::Value>;
    fn bytes(&self, col: &str) -> Result<Vec<u8>>;
}

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("unexpected {what} `{value}`"))
}

fn json_field<T: serde::de::DeserializeOwned>(value: serde_json::Value, what: &str) -> Result<T> {
    serde_json::from_value(value).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

pub(crate) const WORKSPACE_COLUMNS: &str = "id, name, created_at";

pub(crate) fn workspace(row: &impl RowExt) -> Result<Workspace> {
    Ok(Workspace { id: row.uuid("id")?.into(), name: row.text("name")?, created_at: row.time("created_at")? })
}

pub(crate) const USER_COLUMNS: &str = "id, workspace_id, email, role, password_hash, created_at";

pub(crate) fn user(row: &impl RowExt) -> Result<User> {
    Ok(User {
        id: row.uuid("id")?.into(),
        workspace_id: row.uuid("workspace_id")?.into(),
        email: Email::parse(&row.text("email")?)?,
        role: UserRole::parse(&row.text("role")?)?,
        password_hash: row.text("password_hash")?,
        created_at: row.time("created_at")?,
    })
}

/// Why a role change matched no row: the user is not in the workspace, or is its last owner.
pub(crate) fn role_refusal(users: Vec<User>, id: confab_domain::UserId) -> StoreError {
    if users.iter().any(|u| u.id == id) {
        StoreError::Conflict { constraint: crate::LAST_OWNER.into() }
    } else {
        StoreError::NotFound("user")
    }
}

pub(crate) const API_KEY_COLUMNS: &str = "id, workspace_id, name, display_prefix, created_at, revoked_at";

pub(crate) fn api_key(row: &impl RowExt) -> Result<ApiKey> {
    Ok(ApiKey {
        id: row.uuid("id")?.into(),
        workspace_id: row.uuid("workspace_id")?.into(),
        name: row.text("name")?,
        display_prefix: row.text("display_prefix")?,
        created_at: row.time("created_at")?,
        revoked_at: row.opt_time("revoked_at")?,
    })
}

pub(crate) const ASSISTANT_COLUMNS: &str = "id, workspace_id, name, system_prompt, first_message, fallback_message, \
     response_delay_ms, inactivity_timeout_minutes, timezone, provider, model, temperature, tools, \
     knowledge_base_ids, extraction_schema, created_at, updated_at, knowledge_mode, data_fields, availability, after_end";

pub(crate) fn assistant(row: &impl RowExt) -> Result<Assistant> {
    Ok(Assistant {
        id: row.uuid("id")?.into(),
        workspace_id: row.uuid("workspace_id")?.into(),
        name: row.text("name")?,
        system_prompt: row.text("system_prompt")?,
        first_message: row.opt_text("first_message")?,
        fallback_message: row.opt_text("fallback_message")?,
        response_delay: ResponseDelay::from_millis(row.int("response_delay_ms")?)?,
        inactivity_timeout: InactivityTimeout::from_minutes(row.int("inactivity_timeout_minutes")?)?,
        timezone: row.text("timezone")?,
        provider: row.opt_text("provider")?,
        model: row.opt_text("model")?,
        temperature: row.opt_float("temperature")?.map(Temperature::new).transpose()?,
        tools: json_field(row.json("tools")?, "tools")?,
        knowledge_base_ids: json_field(row.json("knowledge_base_ids")?, "knowledge_base_ids")?,
        extraction_schema: row.json("extraction_schema")?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
        knowledge_mode: KnowledgeMode::parse(&row.text("knowledge_mode")?)?,
        data_fields: json_field(row.json("data_fields")?, "data_fields")?,
        availability: json_field(row.json("availability")?, "availability")?,
        after_end: AfterEnd::parse(&row.text("after_end")?)?,
    })
}

pub(crate) const BOOKING_COLUMNS: &str =
    "id, workspace_id, assistant_id, conversation_id, customer_id, customer_name, \
     notes, starts_at, ends_at, status, created_at";

pub(crate) fn booking(row: &impl RowExt) -> Result<Booking> {
    let status = row.text("status")?;
    Ok(Booking {
        id: row.uuid("id")?.into(),
        workspace_id: row.uuid("workspace_id")?.into(),
        assistant_id: row.uuid("assistant_id")?.into(),
        conversation_id: row.opt_uuid("conversation_id")?.map(Into::into),
        customer_id: row.opt_uuid("customer_id")?.map(Into::into),
        customer_name: row.opt_text("customer_name")?,
        notes: row.opt_text("notes")?,
        starts_at: row.time("starts_at")?,
        ends_at: row.time("ends_at")?,
        status: BookingStatus::parse(&status).ok_or_else(|| corrupt("booking status", &status))?,
        created_at: row.time("created_at")?,
    })
}

pub(crate) const SENDER_COLUMNS: &str = "id, workspace_id, provider, provider_sender_id, display_phone, access_token, \
     assistant_id, ai_enabled, status, quality_rating, messaging_limit, created_at";

pub(crate) fn sender(row: &impl RowExt) -> Result<Sender> {
    let status = row.text("status")?;
    Ok(Sender {
        id: row.uuid("id")?.into(),
        workspace_id: row.uuid("workspace_id")?.into(),
        provider: Provider::parse(&row.text("provider")?)?,
        provider_sender_id: row.text("provider_sender_id")?,
        display_phone: PhoneNumber::parse(&row.text("display_phone")?)?,
        access_token: Secret::new(row.text("access_token")?),
        assistant_id: row.uuid("assistant_id")?.into(),
        ai_enabled: row.boolean("ai_enabled")?,
        status: SenderStatus::parse(&status).ok_or_else(|| corrupt("sender status", &status))?,
        quality_rating: row.opt_text("quality_rating")?,
        messaging_limit: row.opt_text("messaging_limit")?,
        created_at: row.time("created_at")?,
    })
}

pub(crate) const CONVERSATION_COLUMNS: &str = "id, workspace_id, type, status, assistant_id, sender_id, customer_id, \
     ai_enabled, variables, last_customer_message_at, message_count, customer_message_count, total_tokens, \
     total_cost_micros, created_at, last_message_at, ended_at, extracted, extraction_status";

pub(crate) fn conversation(row: &impl RowExt) -> Result<Conversation> {
    let status = row.text("status")?;
    let variables = match row.json("variables")? {
        serde_json::Value::Object(map) => map,
        other => return Err(corrupt("variables", &other.to_string())),
    };
    Ok(Conversation {
        id: row.uuid("id")?.into(),
        workspace_id: row.uuid("workspace_id")?.into(),
        kind: ConversationType::parse(&row.text("type")?)?,
        status: ConversationStatus::parse(&status).ok_or_else(|| corrupt("conversation status", &status))?,
        assistant_id: row.uuid("assistant_id")?.into(),
        sender_id: row.opt_uuid("sender_id")?.map(Into::into),
        customer_id: row.uuid("customer_id")?.into(),
        ai_enabled: row.boolean("ai_enabled")?,
        variables,
        last_customer_message_at: row.opt_time("last_customer_message_at")?,
        message_count: row.int("message_count")?,
        customer_message_count: row.int("customer_message_count")?,
        total_tokens: row.int("total_tokens")?,
        total_cost: MicroUsd(row.int("total_cost_micros")?),
        created_at: row.time("created_at")?,
        last_message_at: row.time("last_message_at")?,
        ended_at: row.opt_time("ended_at")?,
        extracted: match row.json("extracted")? {
            serde_json::Value::Object(map) => map,
            other => return Err(corrupt("extracted", &other.to_string())),
        },
        extraction: match row.opt_text("extraction_status")? {
            None => ExtractionStatus::Pending,
            Some(s) => ExtractionStatus::parse(&s).ok_or_else(|| corrupt("extraction status", &s))?,
        },
    })
}

/// A page of conversations from a query that fetched up to `limit + 1` rows, newest first:
/// the extra row only says there is a next page.
pub(crate) fn conversation_page(fetched: &[impl RowExt], limit: u32) -> Result<Page<Conversation>> {
    let mut items = fetched.iter().map(conversation).collect::<Result<Vec<_>>>()?;
    let next = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|c| Cursor { created_at: c.created_at, id: c.id })
    } else {
        None
    };
    Ok(Page { items, next })
}

/// What a claim returns.
pub(crate) const LEASE_COLUMNS: &str = "id, workspace_id, lease_token, lease_until, answered_seq";

pub(crate) fn lease(row: &impl RowExt, owner: &str) -> Result<Lease> {
    Ok(Lease {
        conversation_id: row.uuid("id")?.into(),
        workspace_id: row.uuid("workspace_id")?.into(),
        owner: owner.to_string(),
        token: row.int("lease_token")?,
        until: row.time("lease_until")?,
        answered_seq: row.int("answered_seq")?,
    })
}

pub(crate) const MESSAGE_COLUMNS: &str = "id, workspace_id, conversation_id, role, kind, content, payload, \
     provider_message_id, status, error_code, error_title, error_details, reply_to, forwarded, inbound_seq, sent_at, \
     created_at, cost_micros, input_tokens, output_tokens, cached_input_tokens, tool_call";

pub(crate) fn message(row: &impl RowExt) -> Result<Message> {
    let role = row.text("role")?;
    let kind = row.text("kind")?;
    let status = row.text("status")?;
    let usage = match row.opt_int("input_tokens")? {
        Some(input) => Some(Usage {
            input_tokens: non_negative(input),
            output_tokens: non_negative(row.opt_int("output_tokens")?.unwrap_or(0)),
            cached_input_tokens: non_negative(row.opt_int("cached_input_tokens")?.unwrap_or(0)),
        }),
        None => None,
    };
    let tool_call = match row.json("tool_call")? {
        serde_json::Value::Null => None,
        value => Some(json_field(value, "tool_call")?),
    };
    Ok(Message {
        id: row.uuid("id")?.into(),
        workspace_id: row.uuid("workspace_id")?.into(),
        conversation_id: row.uuid("conversation_id")?.into(),
        role: Role::parse(&role).ok_or_else(|| corrupt("role", &role))?,
        kind: MessageKind::parse(&kind).ok_or_else(|| corrupt("message kind", &kind))?,
        content: row.text("content")?,
        payload: row.json("payload")?,
        provider_message_id: row.opt_text("provider_message_id")?,
        status: DeliveryStatus::parse(&status).ok_or_else(|| corrupt("delivery status", &status))?,
        error: delivery_error(row)?,
        reply_to: row.opt_text("reply_to")?,
        forwarded: row.boolean("forwarded")?,
        sent_at: row.time("sent_at")?,
        created_at: row.time("created_at")?,
        cost: MicroUsd(row.int("cost_micros")?),
        usage,
        tool_call,
    })
}

/// The message export's batch, in three parts around what each backend binds: the head, then
/// the conditions on `conversations` (unqualified columns), then [`EXPORT_JOIN`], then the
/// conditions on `messages` (qualified), then [`EXPORT_ORDER`] and the limit. The
/// conversations' columns are aliased so none clashes with a message column.
pub(crate) fn export_head() -> String {
    export_head_selecting(&format!("{MESSAGE_COLUMNS}, {EXPORT_CONVERSATION_COLUMNS}"))
}

/// [`export_head`] with another select list, over the same columns.
pub(crate) fn export_head_selecting(select: &str) -> String {
    format!(
        "SELECT {select} FROM (SELECT id AS export_conversation_id, type AS conversation_type, \
         created_at AS conversation_created_at FROM conversations WHERE "
    )
}

/// What an exported message row has of its conversation, besides the message's columns.
pub(crate) const EXPORT_CONVERSATION_COLUMNS: &str = "conversation_type, conversation_created_at";

pub(crate) const EXPORT_JOIN: &str =
    ") c JOIN messages ON messages.conversation_id = c.export_conversation_id WHERE TRUE";

pub(crate) const EXPORT_ORDER: &str = " ORDER BY conversation_created_at DESC, export_conversation_id DESC, \
     messages.created_at, messages.id LIMIT ";

/// A row of the message export's batch ([`export_head`]).
pub(crate) fn exported_message(row: &impl RowExt) -> Result<crate::ExportedMessage> {
    Ok(crate::ExportedMessage {
        conversation_type: ConversationType::parse(&row.text("conversation_type")?)?,
        conversation_created_at: row.time("conversation_created_at")?,
        message: message(row)?,
    })
}

/// A lease's pending customer messages, from rows ordered by inbound seq.
pub(crate) fn pending_messages(fetched: &[impl RowExt], answered_seq: i64) -> Result<PendingMessages> {
    let mut through_seq = answered_seq;
    let mut messages = Vec::with_capacity(fetched.len());
    for row in fetched {
        through_seq = through_seq.max(row.int("inbound_seq")?);
        messages.push(message(row)?);
    }
    Ok(PendingMessages { messages, through_seq })
}

/// A provider's error (columns `error_code, error_title, error_details`), if there is one.
fn delivery_error(row: &impl RowExt) -> Result<Option<DeliveryError>> {
    row.opt_text("error_title")?
        .map(|title| {
            Ok(DeliveryError { code: row.opt_int("error_code")?, title, details: row.opt_text("error_details")? })
        })
        .transpose()
}

/// What the status reports recorded before a message's send was (columns `status`,
/// `fee_micros` and the error ones) make of it: its status, moved forward from sent, the
/// provider's error if that is a failure, and the channel fee they reported (the largest).
/// Statuses this version does not know are passed over.
pub(crate) fn reported_delivery(
    reported: &[impl RowExt],
) -> Result<(DeliveryStatus, Option<DeliveryError>, Option<MicroUsd>)> {
    let mut status = DeliveryStatus::Sent;
    let mut error = None;
    let mut fee = None;
    for event in reported {
        fee = fee.max(event.opt_int("fee_micros")?);
        let Some(reported_status) = DeliveryStatus::parse(&event.text("status")?) else { continue };
        status = status.advance_to(reported_status);
        if reported_status == DeliveryStatus::Failed {
            error = delivery_error(event)?;
        }
    }
    Ok((status, error.filter(|_| status == DeliveryStatus::Failed), fee.map(MicroUsd)))
}

/// A message's id, conversation and delivery status (`id, conversation_id, status`).
/// What a claim's `RETURNING id, conversation_id, send_attempts` names.
pub(crate) fn claimed_send(row: &impl RowExt) -> Result<crate::ClaimedSend> {
    Ok(crate::ClaimedSend {
        message_id: row.uuid("id")?.into(),
        conversation_id: row.uuid("conversation_id")?.into(),
        attempts: row.int("send_attempts")?,
    })
}

pub(crate) fn message_status(row: &impl RowExt) -> Result<(MessageId, confab_domain::ConversationId, DeliveryStatus)> {
    let status = row.text("status")?;
    Ok((
        row.uuid("id")?.into(),
        row.uuid("conversation_id")?.into(),
        DeliveryStatus::parse(&status).ok_or_else(|| corrupt("delivery status", &status))?,
    ))
}

/// A status event's key, from a row with `workspace_id, provider_message_id, status`.
pub(crate) fn status_event_key(row: &impl RowExt) -> Result<crate::status_plan::EventKey> {
    let status = row.text("status")?;
    Ok((
        row.uuid("workspace_id")?.into(),
        row.text("provider_message_id")?,
        DeliveryStatus::parse(&status).ok_or_else(|| corrupt("delivery status", &status))?,
    ))
}

fn non_negative(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

pub(crate) const WEBHOOK_EVENT_COLUMNS: &str =
    "id, workspace_id, provider, kind, field, phone_number_id, reason, body, received_at";

pub(crate) fn webhook_event(row: &impl RowExt) -> Result<crate::WebhookEvent> {
    let kind = row.text("kind")?;
    Ok(crate::WebhookEvent {
        id: row.uuid("id")?,
        workspace_id: row.opt_uuid("workspace_id")?.map(Into::into),
        provider: Provider::parse(&row.text("provider")?)?,
        kind: crate::WebhookEventKind::parse(&kind).ok_or_else(|| corrupt("webhook event kind", &kind))?,
        field: row.opt_text("field")?,
        phone_number_id: row.opt_text("phone_number_id")?,
        reason: row.opt_text("reason")?,
        body: row.bytes("body")?,
        received_at: row.time("received_at")?,
    })
}

pub(crate) const CUSTOMER_COLUMNS: &str =
    "id, workspace_id, phone, business_scoped_user_id, external_identifier, name, created_at";

pub(crate) fn customer(row: &impl RowExt) -> Result<confab_domain::Customer> {
    Ok(confab_domain::Customer {
        id: row.uuid("id")?.into(),
        workspace_id: row.uuid("workspace_id")?.into(),
        phone: row.opt_text("phone")?.map(|p| PhoneNumber::parse(&p)).transpose()?,
        business_scoped_user_id: row.opt_text("business_scoped_user_id")?,
        external_identifier: row.opt_text("external_identifier")?,
        name: row.opt_text("name")?,
        created_at: row.time("created_at")?,
    })
}

/// The newest `$3` messages of conversation `$2` in workspace `$1`, oldest first. The newest
/// are found by the conversation alone, so the only index the planner can pick is
/// `messages_conversation_idx`, read backwards and stopped at the limit; with the workspace in
/// the same `WHERE`, PostgreSQL without fresh statistics (a new or fast-growing table) ANDs
/// in the workspace's index and reads every message of the workspace. A conversation's
/// messages all belong to its workspace, so checking it after the limit answers the same.
pub(crate) fn recent_messages_sql() -> String {
    format!(
        "SELECT {MESSAGE_COLUMNS} FROM (SELECT {MESSAGE_COLUMNS} FROM messages \
         WHERE conversation_id = $2 ORDER BY created_at DESC, id DESC LIMIT $3) recent \
         WHERE workspace_id = $1 ORDER BY created_at, id"
    )
}

/// A turn's pending customer messages and its newest messages in one statement (binds:
/// workspace, conversation, history limit, the lease's answered seq), told apart by the
/// `pending` column; read with [`turn_messages`].
pub(crate) fn turn_messages_sql() -> String {
    format!(
        "SELECT {MESSAGE_COLUMNS}, FALSE AS pending FROM (SELECT {MESSAGE_COLUMNS} FROM messages \
         WHERE conversation_id = $2 ORDER BY created_at DESC, id DESC LIMIT $3) recent WHERE workspace_id = $1 \
         UNION ALL SELECT {MESSAGE_COLUMNS}, TRUE AS pending FROM messages \
         WHERE conversation_id = $2 AND role = 'user' AND inbound_seq > $4"
    )
}

/// The rows of [`turn_messages_sql`] as the turn's pending messages (by inbound seq) and its
/// history (oldest first): a compound select keeps no order of its own, so each part is
/// sorted here.
pub(crate) fn turn_messages<R: RowExt>(fetched: Vec<R>, answered_seq: i64) -> Result<(PendingMessages, Vec<Message>)> {
    let mut pending = Vec::new();
    let mut history = Vec::new();
    for row in fetched {
        if row.boolean("pending")? {
            pending.push((row.int("inbound_seq")?, row));
        } else {
            history.push(message(&row)?);
        }
    }
    pending.sort_by_key(|(seq, _)| *seq);
    let pending: Vec<R> = pending.into_iter().map(|(_, row)| row).collect();
    history.sort_by_key(|m| (m.created_at, m.id.as_uuid()));
    Ok((pending_messages(&pending, answered_seq)?, history))
}

/// The list's previews: each conversation `c` of the workspace with the start of its newest
/// message's text (a correlated subquery on `messages_conversation_idx`, one index seek per
/// conversation), in parts around the binds: characters, then workspace, then the ids.
pub(crate) const LAST_MESSAGE_PREVIEW_HEAD: &str = "SELECT c.id, (SELECT substr(m.content, 1, ";
pub(crate) const LAST_MESSAGE_PREVIEW_FROM: &str = ") FROM messages m WHERE m.conversation_id = c.id \
     ORDER BY m.created_at DESC, m.id DESC LIMIT 1) AS preview FROM conversations c WHERE c.workspace_id = ";

pub(crate) const KNOWLEDGE_BASE_COLUMNS: &str = "id, workspace_id, name, created_at";

pub(crate) fn knowledge_base(row: &impl RowExt) -> Result<confab_domain::KnowledgeBase> {
    Ok(confab_domain::KnowledgeBase {
        id: row.uuid("id")?.into(),
        workspace_id: row.uuid("workspace_id")?.into(),
        name: row.text("name")?,
        created_at: row.time("created_at")?,
    })
}

/// A document's columns from `documents d`, with its passage count and length.
pub(crate) const DOCUMENT_COLUMNS: &str = "d.id, d.knowledge_base_id, d.title, d.format, d.status, d.created_at, \
     (SELECT COUNT(*) FROM document_chunks c WHERE c.document_id = d.id) AS chunk_count, \
     CAST(length(d.content) AS BIGINT) AS content_chars";

pub(crate) fn document(row: &impl RowExt) -> Result<confab_domain::Document> {
    let format = row.text("format")?;
    let status = row.text("status")?;
    Ok(confab_domain::Document {
        id: row.uuid("id")?.into(),
        knowledge_base_id: row.uuid("knowledge_base_id")?.into(),
        title: row.text("title")?,
        format: confab_domain::DocumentFormat::parse(&format).ok_or_else(|| corrupt("document format", &format))?,
        status: confab_domain::DocumentStatus::parse(&status).ok_or_else(|| corrupt("document status", &status))?,
        chunk_count: row.int("chunk_count")?,
        content_chars: row.int("content_chars")?,
        created_at: row.time("created_at")?,
    })
}

/// A search hit (columns `knowledge_base_id, document_id, title, heading, text, score`).
pub(crate) fn passage(row: &impl RowExt) -> Result<confab_domain::Passage> {
    Ok(confab_domain::Passage {
        knowledge_base_id: row.uuid("knowledge_base_id")?.into(),
        document_id: row.uuid("document_id")?.into(),
        document_title: row.text("title")?,
        heading: row.text("heading")?,
        text: row.text("text")?,
        score: row.opt_float("score")?.unwrap_or(0.0),
    })
}
