//! A claim's [`OutboundJob`]s, put together from rows read in bulk: one read per table for the
//! whole claim (its messages, their conversations, customers and senders) on either backend,
//! instead of four reads per message; and where the claims made at a turn's commit and at a
//! send's record start from.

use crate::values::to_customer;
use crate::{ClaimedSend, FencedTurn, OutboundJob, SendResult};
use confab_domain::{Conversation, Customer, Message, MessageId, Sender};
use std::collections::HashMap;
use uuid::Uuid;

/// The jobs of claimed messages, from their rows. A message whose
/// conversation, customer or sender is gone (deleted since) is left out: it stays leased, and
/// the next claim after its lease tries it again.
pub(crate) fn assemble(
    claimed: &[ClaimedSend],
    messages: Vec<Message>,
    conversations: Vec<Conversation>,
    customers: Vec<Customer>,
    senders: Vec<Sender>,
) -> Vec<OutboundJob> {
    let conversations: HashMap<Uuid, Conversation> = conversations.into_iter().map(|c| (c.id.as_uuid(), c)).collect();
    let customers: HashMap<Uuid, Customer> = customers.into_iter().map(|c| (c.id.as_uuid(), c)).collect();
    let senders: HashMap<Uuid, Sender> = senders.into_iter().map(|s| (s.id.as_uuid(), s)).collect();
    let attempts: HashMap<Uuid, i64> = claimed.iter().map(|c| (c.message_id.as_uuid(), c.attempts)).collect();
    let mut jobs = Vec::with_capacity(messages.len());
    for message in messages {
        let Some(conversation) = conversations.get(&message.conversation_id.as_uuid()).cloned() else { continue };
        let Some(customer) = customers.get(&conversation.customer_id.as_uuid()).cloned() else { continue };
        let sender = match conversation.sender_id {
            Some(id) => match senders.get(&id.as_uuid()) {
                Some(sender) => Some(sender.clone()),
                None => continue,
            },
            None => None,
        };
        let attempts = attempts.get(&message.id.as_uuid()).copied().unwrap_or_default();
        jobs.push(OutboundJob { message, conversation, customer, sender, attempts });
    }
    jobs.sort_by_key(|j| (j.message.created_at, j.message.id));
    jobs
}

/// The messages to the customer that a group of turns stored (`outcomes` as
/// [`crate::WorkQueue::commit_turns`] answers them): a claim at commit takes the next in line
/// of their conversations.
pub(crate) fn committed_sends(turns: &[FencedTurn], outcomes: &[Option<Vec<MessageId>>]) -> Vec<Uuid> {
    let mut sends = Vec::new();
    for (fenced, stored) in turns.iter().zip(outcomes) {
        let Some(ids) = stored else { continue };
        for (message, id) in fenced.turn.messages.iter().zip(ids) {
            if to_customer(message.role) {
                sends.push(id.as_uuid());
            }
        }
    }
    sends
}

/// The latest `now` of a group of turns, from which a claim at commit's lease runs.
pub(crate) fn latest_now(turns: &[FencedTurn]) -> Option<time::OffsetDateTime> {
    turns.iter().map(|t| t.now).max()
}

/// The messages of recorded send results that left the line (sent, or failed for good): a
/// claim at record takes the next in line of their conversations.
pub(crate) fn resolved_sends(results: &[(MessageId, SendResult)]) -> Vec<Uuid> {
    results.iter().filter(|(_, r)| !matches!(r, SendResult::Retry { .. })).map(|(id, _)| id.as_uuid()).collect()
}
