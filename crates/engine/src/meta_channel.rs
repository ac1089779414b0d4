//! The outbox's client for Meta's WhatsApp Cloud API: turns a stored message into the Graph
//! API request it stands for, sends it with the sender's token, and classifies Meta's answer
//! into retry or fail. It also gives the turn worker read receipts with a typing indicator.

use crate::channel_client::{ChannelClient, Disposition, ReadReceipts, SendFailure};
use async_trait::async_trait;
use confab_channels::whatsapp::{classify, ErrorClass, GraphClient, OutboundMessage};
use confab_domain::{DeliveryError, MessageKind};
use confab_storage::OutboundJob;

pub struct MetaChannel {
    graph: GraphClient,
}

impl MetaChannel {
    pub fn new(graph: GraphClient) -> Self {
        Self { graph }
    }
}

#[async_trait]
impl ChannelClient for MetaChannel {
    async fn send(&self, job: &OutboundJob) -> Result<String, SendFailure> {
        let sender = job
            .sender
            .as_ref()
            .ok_or_else(|| final_failure("This conversation has no WhatsApp number to send from"))?;
        let message = outbound_message(job)?;
        message.validate().map_err(|e| final_failure(&format!("Not a valid WhatsApp message: {e}")))?;
        match self.graph.send(&sender.provider_sender_id, &sender.access_token, &message).await {
            Ok(receipt) => Ok(receipt.wamid),
            Err(err) => {
                let error = DeliveryError::from(&err);
                let disposition = match classify(&err) {
                    ErrorClass::Retry { after } => Disposition::Retry { after },
                    ErrorClass::Fail { reason } => {
                        Disposition::Fail { sender_needs_attention: reason.needs_sender_attention() }
                    }
                };
                Err(SendFailure { error, disposition })
            }
        }
    }
}

#[async_trait]
impl ReadReceipts for MetaChannel {
    async fn mark_read_and_typing(&self, sender: &confab_domain::Sender, provider_message_id: &str) {
        if sender.provider != confab_domain::Provider::Meta {
            return;
        }
        if let Err(err) =
            self.graph.mark_read(&sender.provider_sender_id, &sender.access_token, provider_message_id, true).await
        {
            tracing::warn!(sender_id = %sender.id, code = ?err.code, reason = %err.title, "could not mark a message read");
        }
    }
}

/// The Graph API message a stored message stands for.
fn outbound_message(job: &OutboundJob) -> Result<OutboundMessage, SendFailure> {
    let to = job
        .customer
        .phone
        .as_ref()
        .map(|p| p.digits().to_string())
        .ok_or_else(|| final_failure("The customer has no WhatsApp phone number to send to"))?;
    match job.message.kind {
        MessageKind::Text => Ok(OutboundMessage::Text {
            to,
            body: job.message.content.clone(),
            reply_to: job.message.reply_to.clone(),
            preview_url: false,
        }),
        MessageKind::Template => {
            let template = &job.message.payload["template"];
            let name = template["name"].as_str().ok_or_else(|| final_failure("The stored template has no name"))?;
            let language = template["language"]["code"]
                .as_str()
                .ok_or_else(|| final_failure("The stored template has no language"))?;
            Ok(OutboundMessage::Template {
                to,
                name: name.to_string(),
                language: language.to_string(),
                components: template["components"].clone(),
            })
        }
        other => Err(final_failure(&format!("Sending {} messages is not supported yet", other.as_str()))),
    }
}

fn final_failure(title: &str) -> SendFailure {
    SendFailure {
        error: DeliveryError { code: None, title: title.to_string(), details: None },
        disposition: Disposition::Fail { sender_needs_attention: false },
    }
}
