//! The outbox's client for Twilio's WhatsApp senders: turns a stored message into a Messages
//! API request (`Body` inside the window, `ContentSid` + `ContentVariables` for templates),
//! sends it with the sender's `AccountSid:AuthToken`, and classifies Twilio's answer.

use crate::channel_client::{ChannelClient, Disposition, SendFailure};
use async_trait::async_trait;
use confab_channels::twilio::{
    classify, ContentSid, ContentVariables, ErrorClass, MessagesClient, OutgoingContent, OutgoingMessage,
    TwilioCredentials,
};
use confab_domain::{DeliveryError, MessageKind, PhoneNumber};
use confab_storage::OutboundJob;

pub struct TwilioChannel {
    client: MessagesClient,
    /// Where Twilio posts status callbacks (`{public_url}/webhooks/twilio/status`).
    status_callback: Option<String>,
}

impl TwilioChannel {
    pub fn new(client: MessagesClient, status_callback: Option<String>) -> Self {
        Self { client, status_callback }
    }
}

#[async_trait]
impl ChannelClient for TwilioChannel {
    async fn send(&self, job: &OutboundJob) -> Result<String, SendFailure> {
        let sender = job
            .sender
            .as_ref()
            .ok_or_else(|| final_failure("This conversation has no WhatsApp number to send from", false))?;
        let credentials = TwilioCredentials::from_access_token(&sender.access_token).map_err(|_| {
            final_failure("This number's Twilio credentials must be stored as AccountSid:AuthToken", true)
        })?;
        let from = PhoneNumber::parse(&sender.provider_sender_id)
            .map_err(|_| final_failure("This number's Twilio sender is not a phone number", true))?;
        let to = job
            .customer
            .phone
            .clone()
            .ok_or_else(|| final_failure("The customer has no WhatsApp phone number to send to", false))?;
        let message =
            OutgoingMessage { from, to, content: content(job)?, status_callback: self.status_callback.clone() };
        match self.client.send(&credentials, &message).await {
            Ok(resource) => Ok(resource.sid),
            Err(err) => {
                let disposition = match classify(&err) {
                    ErrorClass::Retry { after } => Disposition::Retry { after },
                    ErrorClass::Fail { reason } => {
                        Disposition::Fail { sender_needs_attention: reason.needs_sender_attention() }
                    }
                };
                Err(SendFailure { error: DeliveryError::from(&err), disposition })
            }
        }
    }
}

fn content(job: &OutboundJob) -> Result<OutgoingContent, SendFailure> {
    match job.message.kind {
        MessageKind::Text => Ok(OutgoingContent::Text { body: job.message.content.clone() }),
        MessageKind::Template => {
            let template = &job.message.payload["template"];
            let content_sid =
                template["content_sid"].as_str().and_then(|sid| ContentSid::parse(sid).ok()).ok_or_else(|| {
                    final_failure("A Twilio template is sent by its Content SID (HX…), and this one has none", false)
                })?;
            let variables = template["variables"]
                .as_object()
                .map(|vars| {
                    vars.iter().fold(ContentVariables::new(), |acc, (k, v)| {
                        acc.with(k.clone(), v.as_str().unwrap_or_default())
                    })
                })
                .unwrap_or_default();
            Ok(OutgoingContent::Template { content_sid, variables })
        }
        other => Err(final_failure(
            &format!("Sending {} messages through Twilio is not supported yet", other.as_str()),
            false,
        )),
    }
}

fn final_failure(title: &str, sender_needs_attention: bool) -> SendFailure {
    SendFailure {
        error: DeliveryError { code: None, title: title.to_string(), details: None },
        disposition: Disposition::Fail { sender_needs_attention },
    }
}
