//! Accepting one Twilio webhook POST — a customer's WhatsApp message or a delivery status
//! callback — the way `whatsapp_inbound` accepts Meta's: route it to its sender, check it,
//! and store it in one short transaction, exactly once. Nothing here calls a network or an
//! LLM: the webhook answers right after.
//!
//! Twilio signs each request with the auth token of the account that owns the number, so the
//! order differs from Meta's: a request without a well-formed `X-Twilio-Signature` is refused
//! outright; otherwise the form is routed first (a message by `To`, a status callback by
//! `From`: our number either way) to find the sender and its token, and only then verified
//! against the URL Twilio was configured with. A number no sender is linked to cannot be
//! verified: the body is kept as unrouted (so it can be looked at, and replayed once the
//! sender exists) and nothing else happens — as for Meta. A verified form that cannot be used
//! is kept as a dead letter; an SMS to the same number, or a status word confab does not
//! track, is kept as an event.
//!
//! Twilio's forms carry no timestamp: a message's window and a status's time count from when
//! it arrived. Every write is idempotent (by `MessageSid`, and by `MessageSid` + status), so
//! when one fails the caller answers 500 and a retry changes nothing twice.

use confab_channels::twilio::{
    business_number, check_header, classify_form, verify_signature, FormBody, FormKind, InboundFormError,
    SignatureError, TwilioCredentials, TwilioInboundMessage, TwilioStatusCallback,
};
use confab_domain::{
    Assistant, ConversationType, InboundMessage, IngestOutcome, MessageKind, Provider, Role, Sender, WorkspaceId,
};
use confab_storage::{NewWebhookEvent, StatusInput, StatusOutcome, Store, StoreError, WebhookEventKind};
use time::OffsetDateTime;

/// One webhook request as it arrived.
#[derive(Clone, Copy, Debug)]
pub struct TwilioRequest<'a> {
    /// The URL Twilio was configured with: `CONFAB_PUBLIC_URL` + the request's path and query.
    pub url: &'a str,
    /// The raw `application/x-www-form-urlencoded` body.
    pub raw_body: &'a [u8],
    /// The `X-Twilio-Signature` header, if any.
    pub signature: Option<&'a str>,
}

/// What one request led to, for logs and metrics (no content, no phone numbers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TwilioOutcome {
    /// A customer message, stored (and, if it wants one, due for a reply).
    MessageStored { conversation_created: bool },
    /// A message whose `MessageSid` was seen before: nothing changed.
    MessageDuplicate,
    /// A status applied to the message it names (it only moves forward).
    StatusApplied(crate::delivery_events::DeliveryChanged),
    /// This status of this message was seen before: nothing changed.
    StatusDuplicate,
    /// A status for a message confab does not know (yet): recorded all the same.
    StatusUnknownMessage,
    /// Verified but not a WhatsApp message or status confab acts on: kept as an event.
    EventKept,
    /// For a number no sender is linked to (or one whose credentials are unusable): kept.
    Unrouted,
    /// Verified but unusable: kept as a dead letter.
    DeadLetter,
}

impl TwilioOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MessageStored { .. } => "message_stored",
            Self::MessageDuplicate => "message_duplicate",
            Self::StatusApplied(_) => "status_applied",
            Self::StatusDuplicate => "status_duplicate",
            Self::StatusUnknownMessage => "status_unknown_message",
            Self::EventKept => "event_kept",
            Self::Unrouted => "unrouted",
            Self::DeadLetter => "dead_letter",
        }
    }
}

/// Why a request was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum TwilioAcceptError {
    /// Not signed by Twilio (or not for this URL): answer 401, nothing was stored.
    #[error("{0}")]
    Signature(SignatureError),
    /// The database failed: answer 500.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Checks, routes and stores one Twilio webhook request. Payloads for unknown numbers are kept
/// under `default_workspace`.
pub async fn accept(
    store: &dyn Store,
    request: TwilioRequest<'_>,
    now: OffsetDateTime,
    default_workspace: WorkspaceId,
) -> Result<TwilioOutcome, TwilioAcceptError> {
    check_header(request.signature).map_err(TwilioAcceptError::Signature)?;
    let form = FormBody::parse(request.raw_body);
    let kind = classify_form(&form);
    let keep = |workspace_id, event_kind, number: Option<String>, reason: String| NewWebhookEvent {
        workspace_id: Some(workspace_id),
        provider: Provider::Twilio,
        kind: event_kind,
        field: Some(kind.as_str().to_owned()),
        phone_number_id: number,
        reason: Some(reason),
        body: request.raw_body.to_vec(),
    };

    let number = match business_number(&form, kind) {
        Ok(number) => number,
        Err(why) => {
            tracing::warn!(kind = kind.as_str(), "Twilio webhook without a business number kept as unrouted");
            let reason = format!("{why}; the signature could not be checked");
            store
                .record_webhook_events(&[keep(default_workspace, WebhookEventKind::Unrouted, None, reason)], now)
                .await?;
            return Ok(TwilioOutcome::Unrouted);
        }
    };
    let Some(sender) = store.sender_by_provider_id(Provider::Twilio, number.as_str()).await? else {
        tracing::warn!(kind = kind.as_str(), "Twilio webhook for a number no sender is linked to kept as unrouted");
        let reason = format!(
            "a Twilio {} for {number}, which no sender is linked to; the signature could not be checked",
            kind.as_str()
        );
        let event = keep(default_workspace, WebhookEventKind::Unrouted, Some(number.to_string()), reason);
        store.record_webhook_events(&[event], now).await?;
        return Ok(TwilioOutcome::Unrouted);
    };
    let credentials = match TwilioCredentials::from_access_token(&sender.access_token) {
        Ok(credentials) => credentials,
        Err(why) => {
            tracing::warn!(sender_id = %sender.id, "Twilio webhook kept as unrouted: the sender's access token is unusable");
            let reason = format!("the sender's access token cannot check the signature: {}", why.message);
            let event = keep(sender.workspace_id, WebhookEventKind::Unrouted, Some(number.to_string()), reason);
            store.record_webhook_events(&[event], now).await?;
            return Ok(TwilioOutcome::Unrouted);
        }
    };
    verify_signature(credentials.auth_token().expose(), request.url, form.pairs(), request.signature)
        .map_err(TwilioAcceptError::Signature)?;
    let form = form.storable();

    let number = Some(number.to_string());
    match kind {
        FormKind::Message => match TwilioInboundMessage::parse(&form) {
            Ok(message) => {
                let assistant = store.get_assistant(sender.workspace_id, sender.assistant_id).await?;
                let inbound = customer_message(&sender, &assistant, &message, now);
                let outcome = store.ingest(&[inbound], now).await?.into_iter().next();
                Ok(match outcome {
                    Some(IngestOutcome::Stored { conversation_created, .. }) => {
                        TwilioOutcome::MessageStored { conversation_created }
                    }
                    Some(IngestOutcome::Duplicate) | None => TwilioOutcome::MessageDuplicate,
                })
            }
            Err(InboundFormError::NotWhatsapp) => {
                let reason = InboundFormError::NotWhatsapp.to_string();
                store
                    .record_webhook_events(&[keep(sender.workspace_id, WebhookEventKind::Event, number, reason)], now)
                    .await?;
                Ok(TwilioOutcome::EventKept)
            }
            Err(why) => {
                tracing::warn!(sender_id = %sender.id, reason = %why, "Twilio message kept as a dead letter");
                let event = keep(sender.workspace_id, WebhookEventKind::DeadLetter, number, why.to_string());
                store.record_webhook_events(&[event], now).await?;
                Ok(TwilioOutcome::DeadLetter)
            }
        },
        FormKind::Status => match TwilioStatusCallback::parse(&form) {
            Ok(callback) => match callback.status {
                Some(status) => {
                    let update = StatusInput {
                        workspace_id: sender.workspace_id,
                        provider_message_id: callback.message_sid,
                        status,
                        occurred_at: now,
                        error: callback.error,
                        pricing: serde_json::Value::Null,
                        // Twilio's callbacks carry no price; its fees are not charged per status
                        fee: None,
                    };
                    let workspace_id = update.workspace_id;
                    let outcome = store.apply_statuses(&[update], now).await?.into_iter().next();
                    Ok(match outcome {
                        Some(StatusOutcome::Applied { conversation_id, .. }) => {
                            TwilioOutcome::StatusApplied(crate::delivery_events::DeliveryChanged {
                                workspace_id,
                                conversation_id,
                            })
                        }
                        Some(StatusOutcome::Duplicate) => TwilioOutcome::StatusDuplicate,
                        Some(StatusOutcome::UnknownMessage) | None => TwilioOutcome::StatusUnknownMessage,
                    })
                }
                None => {
                    let reason = format!("status `{}` is not one confab tracks", callback.raw_status);
                    let event = keep(sender.workspace_id, WebhookEventKind::Event, number, reason);
                    store.record_webhook_events(&[event], now).await?;
                    Ok(TwilioOutcome::EventKept)
                }
            },
            Err(why) => {
                tracing::warn!(sender_id = %sender.id, reason = %why, "Twilio status callback kept as a dead letter");
                let event = keep(sender.workspace_id, WebhookEventKind::DeadLetter, number, why.to_string());
                store.record_webhook_events(&[event], now).await?;
                Ok(TwilioOutcome::DeadLetter)
            }
        },
    }
}

/// Reactions, deletions and WhatsApp's own notices are recorded but do not call for an answer.
fn calls_for_a_reply(kind: MessageKind) -> bool {
    !matches!(kind, MessageKind::Reaction | MessageKind::Revoke | MessageKind::System)
}

fn customer_message(
    sender: &Sender,
    assistant: &Assistant,
    m: &TwilioInboundMessage,
    now: OffsetDateTime,
) -> InboundMessage {
    InboundMessage {
        workspace_id: sender.workspace_id,
        role: Role::User,
        conversation_type: ConversationType::Whatsapp,
        assistant_id: assistant.id,
        sender_id: Some(sender.id),
        conversation_id: None,
        customer: m.customer_identity(),
        customer_name: m.profile_name.clone(),
        provider_message_id: Some(m.message_sid.clone()),
        kind: m.kind,
        content: m.content.clone(),
        payload: m.payload.clone(),
        reply_to: m.reply_to.clone(),
        forwarded: m.forwarded,
        // Twilio's form has no timestamp of the customer's own
        sent_at: now,
        response_delay: assistant.response_delay,
        wants_reply: sender.ai_enabled && calls_for_a_reply(m.kind),
        system_note: None,
    }
}
