//! A group of fenced turns committed on SQLite in two statements whatever its size: every
//! conversation's fence and counters in one `UPDATE … FROM json_each`, then every message of
//! the turns whose lease held in one `INSERT … SELECT … FROM json_each`. The turns travel as
//! JSON, so each statement's text is the same for every group and stays one prepared
//! statement; one by one, a turn cost two statements and a message one more, each a round
//! trip to the writer's thread while it was held.

use super::micros;
use crate::values::{count, llm_latency_ms, produced_status, to_customer, token_count};
use crate::{FencedTurn, Result, StoreError};
use confab_domain::{ConversationType, MessageId, MicroUsd};
use serde_json::{json, Value};
use sqlx::{Row, SqliteConnection};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// Whether [`commit_together`] can take the group: each conversation at most once (a second
/// turn of the same conversation is fenced by the first's commit, which one statement for
/// both cannot see).
pub(super) fn can_commit_together(turns: &[FencedTurn]) -> bool {
    let mut seen = HashSet::with_capacity(turns.len());
    turns.iter().all(|t| seen.insert(t.lease.conversation_id))
}

/// Commits the group inside the caller's transaction: for each turn, the ids of its stored
/// messages, or `None` when its lease was lost (and nothing of it is written).
pub(super) async fn commit_together(
    tx: &mut SqliteConnection,
    turns: &[FencedTurn],
) -> Result<Vec<Option<Vec<MessageId>>>> {
    let fences: Vec<Value> = turns.iter().map(fence).collect();
    let held = sqlx::query(
        "UPDATE conversations SET answered_seq = MAX(answered_seq, t.value ->> 'seq'), \
         due_at = CASE WHEN t.value ->> 'hand_over' OR t.value ->> 'end' THEN NULL \
             WHEN inbound_seq > MAX(answered_seq, t.value ->> 'seq') THEN due_at ELSE NULL END, \
         status = CASE WHEN t.value ->> 'end' THEN 'ended' ELSE status END, \
         ended_at = CASE WHEN t.value ->> 'end' THEN t.value ->> 'now' ELSE ended_at END, \
         ai_enabled = CASE WHEN t.value ->> 'hand_over' THEN FALSE ELSE ai_enabled END, \
         lease_owner = NULL, lease_until = NULL, \
         message_count = message_count + (t.value ->> 'messages'), \
         total_cost_micros = total_cost_micros + (t.value ->> 'cost'), \
         total_tokens = total_tokens + (t.value ->> 'tokens'), \
         last_message_at = MAX(last_message_at, t.value ->> 'now'), \
         variables = CASE WHEN t.value ->> 'variables' = '{}' THEN variables \
             ELSE json_patch(variables, t.value ->> 'variables') END \
         FROM json_each($1) AS t \
         WHERE conversations.id = unhex(t.value ->> 'id') AND conversations.lease_token = t.value ->> 'token' \
           AND conversations.lease_owner = t.value ->> 'owner' AND conversations.lease_until > t.value ->> 'now' \
         RETURNING conversations.id, conversations.type",
    )
    .bind(Value::Array(fences).to_string())
    .fetch_all(&mut *tx)
    .await?;
    // the conversations whose lease held, and whether each is a WhatsApp one (its messages
    // to the customer go through the outbox)
    let mut on_whatsapp: HashMap<Uuid, bool> = HashMap::with_capacity(held.len());
    for row in &held {
        on_whatsapp
            .insert(row.try_get("id")?, row.try_get::<String, _>("type")? == ConversationType::Whatsapp.as_str());
    }
    let mut outcomes = Vec::with_capacity(turns.len());
    let mut messages = Vec::new();
    for fenced in turns {
        let Some(&send) = on_whatsapp.get(&fenced.lease.conversation_id.as_uuid()) else {
            outcomes.push(None);
            continue;
        };
        let mut ids = Vec::with_capacity(fenced.turn.messages.len());
        for m in &fenced.turn.messages {
            let id = MessageId::new();
            messages.push(produced_message(fenced, id, m, send)?);
            ids.push(id);
        }
        outcomes.push(Some(ids));
    }
    if !messages.is_empty() {
        sqlx::query(
            "INSERT INTO messages (id, workspace_id, conversation_id, role, kind, content, payload, status, sent_at, \
             created_at, cost_micros, input_tokens, output_tokens, cached_input_tokens, tool_call, next_attempt_at, \
             response_time_ms, llm_latency_ms) \
             SELECT unhex(m.value ->> 'id'), unhex(m.value ->> 'workspace_id'), unhex(m.value ->> 'conversation_id'), \
             m.value ->> 'role', m.value ->> 'kind', m.value ->> 'content', m.value ->> 'payload', \
             m.value ->> 'status', m.value ->> 'now', m.value ->> 'now', m.value ->> 'cost', \
             m.value ->> 'input_tokens', m.value ->> 'output_tokens', m.value ->> 'cached_input_tokens', \
             m.value ->> 'tool_call', m.value ->> 'next_attempt_at', m.value ->> 'response_time_ms', \
             m.value ->> 'llm_latency_ms' \
             FROM json_each($1) AS m",
        )
        .bind(Value::Array(messages).to_string())
        .execute(&mut *tx)
        .await?;
    }
    Ok(outcomes)
}

/// A turn's fence and what it adds to its conversation, as one element of the update's array.
fn fence(fenced: &FencedTurn) -> Value {
    let FencedTurn { lease, turn, now } = fenced;
    let cost: MicroUsd = turn.messages.iter().map(|m| m.cost).sum();
    json!({
        "id": hex(lease.conversation_id.as_uuid()),
        "token": lease.token,
        "owner": lease.owner,
        "now": micros(*now),
        "seq": turn.answered_through_seq,
        "messages": count(turn.messages.len()),
        "cost": cost.0,
        "tokens": turn.messages.iter().map(token_count).sum::<i64>(),
        "hand_over": turn.hand_over,
        "end": turn.end,
        "variables": Value::Object(turn.variables.clone()).to_string(),
    })
}

/// One message of a turn whose lease held, as one element of the insert's array (the same
/// row `queue::insert_produced_message` writes).
fn produced_message(fenced: &FencedTurn, id: MessageId, m: &crate::NewMessage, send: bool) -> Result<Value> {
    let now = micros(fenced.now);
    let tool_call =
        m.tool_call.as_ref().map(serde_json::to_string).transpose().map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(json!({
        "id": hex(id.as_uuid()),
        "workspace_id": hex(fenced.lease.workspace_id.as_uuid()),
        "conversation_id": hex(fenced.lease.conversation_id.as_uuid()),
        "role": m.role.as_str(),
        "kind": m.kind.as_str(),
        "content": m.content,
        "payload": m.payload.to_string(),
        "status": produced_status(m.role, send).as_str(),
        "now": now,
        "cost": m.cost.0,
        "input_tokens": m.usage.map(|u| u.input_tokens),
        "output_tokens": m.usage.map(|u| u.output_tokens),
        "cached_input_tokens": m.usage.map(|u| u.cached_input_tokens),
        "tool_call": tool_call,
        "next_attempt_at": (to_customer(m.role) && send).then_some(now),
        "response_time_ms": m.response_time_ms,
        "llm_latency_ms": llm_latency_ms(m),
    }))
}

/// A UUID as the hex `unhex` turns back into its 16 stored bytes.
fn hex(id: Uuid) -> String {
    id.simple().to_string()
}
