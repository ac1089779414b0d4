//! Twilio senders through the outbox: a template by Content SID outside the window, a text
//! inside it, and a Twilio error ending in the right state — against the fake Twilio API.

#![allow(clippy::unwrap_used)]

mod support;

use confab_channels::twilio::MessagesClient;
use confab_domain::*;
use confab_engine::outbox::{Outbox, OutboxPolicy};
use confab_engine::send_pacing::SendPacing;
use confab_engine::twilio_channel::TwilioChannel;
use confab_sim::fake_twilio_api::{FakeTwilioApi, FakeTwilioConfig};
use serde_json::{json, Value};
use std::sync::Arc;
use support::*;
use time::OffsetDateTime;

const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
const CONTENT_SID: &str = "HXb5b62575e6e4ff6129ad7c8efe1f983e";

#[tokio::test]
async fn templates_and_texts_go_through_twilios_messages_api() {
    let app = spawn_app().await;
    let key = app.api_key(app.workspace).await;
    let sender = app.twilio_sender("+14155238886", &format!("{ACCOUNT}:twilio-auth-token")).await;
    let fake = FakeTwilioApi::start(FakeTwilioConfig::new().with_account(ACCOUNT, "twilio-auth-token")).await.unwrap();
    let client = MessagesClient::new(&fake.base_url(), std::time::Duration::from_secs(5)).unwrap();
    let outbox = Outbox::new(app.store.clone(), SendPacing::per_second(80), OutboxPolicy::default())
        .with_channel(Provider::Twilio, Arc::new(TwilioChannel::new(client, Some(app.url("/webhooks/twilio/status")))));

    // outside the window: a template by Content SID
    let body = json!({ "sender_id": sender.id, "to": "+16505551234", "template": CONTENT_SID, "language": "en", "parameters": ["Ana", "12:30"] });
    let res =
        app.client.post(app.url("/api/v1/whatsapp/templates/send")).bearer_auth(&key).json(&body).send().await.unwrap();
    assert_eq!(res.status(), 202);
    let queued: Value = res.json().await.unwrap();
    let conversation_id: ConversationId = queued["conversation_id"].as_str().unwrap().parse().unwrap();
    assert_eq!(outbox.step(OffsetDateTime::now_utc()).await.unwrap(), 1);
    let sent = fake.sent();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].authenticated);
    assert_eq!(sent[0].form.get("From"), Some("whatsapp:+14155238886"));
    assert_eq!(sent[0].form.get("To"), Some("whatsapp:+16505551234"));
    assert_eq!(sent[0].form.get("ContentSid"), Some(CONTENT_SID));
    let variables: Value = serde_json::from_str(sent[0].form.get("ContentVariables").unwrap()).unwrap();
    assert_eq!(variables, json!({ "1": "Ana", "2": "12:30" }));
    let messages = app.store.list_messages(app.workspace, conversation_id, None, 10).await.unwrap();
    assert_eq!(messages[0].provider_message_id, sent[0].message_sid);

    // a Meta-style template name is refused for a Twilio number
    let wrong = json!({ "sender_id": sender.id, "to": "+16505551234", "template": "order_update", "language": "en" });
    let res = app
        .client
        .post(app.url("/api/v1/whatsapp/templates/send"))
        .bearer_auth(&key)
        .json(&wrong)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);

    // the customer writes: a free-form text may go
    let inbound = InboundMessage {
        workspace_id: app.workspace,
        role: Role::User,
        conversation_type: ConversationType::Whatsapp,
        assistant_id: sender.assistant_id,
        sender_id: Some(sender.id),
        conversation_id: None,
        customer: CustomerIdentity::Whatsapp {
            wa_id: Some(PhoneNumber::parse("+16505551234").unwrap()),
            business_scoped_user_id: None,
        },
        customer_name: None,
        provider_message_id: Some("SMfeedfacefeedfacefeedfacefeedface".into()),
        kind: MessageKind::Text,
        content: "thanks!".into(),
        payload: Value::Null,
        reply_to: None,
        forwarded: false,
        sent_at: OffsetDateTime::now_utc(),
        response_delay: ResponseDelay::default(),
        wants_reply: false,
        system_note: None,
    };
    app.store.ingest(&[inbound], OffsetDateTime::now_utc()).await.unwrap();
    let body = json!({ "sender_id": sender.id, "to": "+16505551234", "text": "You're welcome!" });
    let res = app.client.post(app.url("/api/v1/whatsapp/messages")).bearer_auth(&key).json(&body).send().await.unwrap();
    assert_eq!(res.status(), 202, "{}", res.text().await.unwrap());
    outbox.step(OffsetDateTime::now_utc()).await.unwrap();
    let sent = fake.sent();
    assert_eq!(sent[1].form.get("Body"), Some("You're welcome!"));
    assert_eq!(sent[1].form.get("StatusCallback"), Some(app.url("/webhooks/twilio/status").as_str()));
}
