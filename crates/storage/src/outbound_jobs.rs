//! A claim's [`OutboundJob`]s, put together from rows read in bulk: one read per table for the
//! whole claim (its messages, their conversations, customers and senders) on either backend,
//! instead of four reads per message.

use crate::OutboundJob;
use confab_domain::{Conversation, Customer, Message, Sender};
use std::collections::HashMap;
use uuid::Uuid;

/// The jobs of the claimed `(message id, send attempts)`, from their rows. A message whose
/// conversation, customer or sender is gone (deleted since) is left out: it stays leased, and
/// the next claim after its lease tries it again.
pub(crate) fn assemble(
    claimed: &[(Uuid, i64)],
    messages: Vec<Message>,
    conversations: Vec<Conversation>,
    customers: Vec<Customer>,
    senders: Vec<Sender>,
) -> Vec<OutboundJob> {
    let conversations: HashMap<Uuid, Conversation> = conversations.into_iter().map(|c| (c.id.as_uuid(), c)).collect();
    let customers: HashMap<Uuid, Customer> = customers.into_iter().map(|c| (c.id.as_uuid(), c)).collect();
    let senders: HashMap<Uuid, Sender> = senders.into_iter().map(|s| (s.id.as_uuid(), s)).collect();
    let attempts: HashMap<Uuid, i64> = claimed.iter().copied().collect();
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
