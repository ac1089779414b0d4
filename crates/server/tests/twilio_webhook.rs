//! Twilio's WhatsApp webhooks end to end: the real server on 127.0.0.1, forms signed as
//! Twilio signs them (over `CONFAB_PUBLIC_URL` + path), rows out.

mod support;

use confab_channels::twilio::{MessagesClient, OutgoingContent, OutgoingMessage, TwilioCredentials};
use confab_domain::{
    ConversationType, CustomerIdentity, DeliveryStatus, InboundMessage, MessageKind, PhoneNumber, Provider, Role,
    Sender,
};
use confab_server::config::Settings;
use confab_sim::fake_twilio_api::{FakeTwilioApi, FakeTwilioConfig};
use confab_sim::twilio_webhook::{new_message_sid, sign_form, status_callback_form, InboundForm, SignedForm};
use confab_storage::{ConversationFilter, NewMessage, PageRequest, SendResult, WebhookEventKind};
use serde_json::Value;
use support::*;
use time::{Duration, OffsetDateTime};

const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
const AUTH_TOKEN: &str = "twilio-test-auth-token";
const BUSINESS: &str = "+14155238886";
const CUSTOMER: &str = "+5511987654321";

/// The URL Twilio signs: `spawn_app` leaves `CONFAB_PUBLIC_URL` unset, so it is the default
/// `http://` + bind — not the random port the test server really listens on, exactly as a
/// public URL differs from the address behind a proxy.
fn public_url(path: &str) -> String {
    format!("{}{path}", Settings::default().public_url())
}

async fn twilio_sender(app: &TestApp, number: &str) -> Sender {
    app.twilio_sender(number, &format!("{ACCOUNT}:{AUTH_TOKEN}")).await
}

async fn post(app: &TestApp, path: &str, signed: &SignedForm) -> reqwest::Response {
    post_raw(app, path, signed.body.clone(), Some(&signed.signature)).await
}

async fn post_raw(app: &TestApp, path: &str, body: Vec<u8>, signature: Option<&str>) -> reqwest::Response {
    let mut req = app.client.post(app.url(path)).header("content-type", "application/x-www-form-urlencoded").body(body);
    if let Some(signature) = signature {
        req = req.header("x-twilio-signature", signature);
    }
    req.send().await.expect("request")
}

fn signed_message(form: InboundForm) -> SignedForm {
    sign_form(AUTH_TOKEN, &public_url("/webhooks/twilio"), &form.into_form())
}

fn signed_status(sid: &str, status: &str, error: Option<(i64, &str)>) -> SignedForm {
    let form = status_callback_form(ACCOUNT, sid, status, BUSINESS, CUSTOMER, error);
    sign_form(AUTH_TOKEN, &public_url("/webhooks/twilio/status"), &form)
}

async fn assert_twiml(res: reqwest::Response) {
    assert_eq!(res.status(), 200);
    let content_type = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert!(content_type.starts_with("text/xml"), "{content_type}");
    assert!(res.text().await.expect("body").ends_with("<Response/>"));
}

#[tokio::test]
async fn a_text_and_a_media_message_are_stored_with_their_kind_and_customer() {
    let app = spawn_app().await;
    let sender = twilio_sender(&app, BUSINESS).await;
    let text_sid = new_message_sid();
    let text = InboundForm::text(ACCOUNT, &text_sid, CUSTOMER, BUSINESS, "Olá! Vocês abrem sábado? 😊")
        .profile_name("Ana Souza");
    assert_twiml(post(&app, "/webhooks/twilio", &signed_message(text)).await).await;

    let stored = app.store.message_by_provider_id(app.workspace, &text_sid).await.unwrap().expect("stored");
    assert_eq!((stored.role, stored.kind), (Role::User, MessageKind::Text));
    assert_eq!(stored.content, "Olá! Vocês abrem sábado? 😊");
    let conv = app.store.get_conversation(app.workspace, stored.conversation_id).await.unwrap();
    assert_eq!((conv.kind, conv.sender_id), (ConversationType::Whatsapp, Some(sender.id)));
    assert!(conv.window().is_open(OffsetDateTime::now_utc()), "an inbound message opens the window");
    let by_customer = ConversationFilter { customer: Some(CUSTOMER.into()), ..ConversationFilter::default() };
    let page = app.store.list_conversations(app.workspace, &by_customer, PageRequest::first(10)).await.unwrap();
    assert_eq!(page.items.iter().map(|c| c.id).collect::<Vec<_>>(), [conv.id], "filed under the customer's number");

    let media_sid = new_message_sid();
    let media = InboundForm::text(ACCOUNT, &media_sid, CUSTOMER, BUSINESS, "")
        .profile_name("Ana Souza")
        .media("https://api.twilio.com/2010-04-01/Accounts/AC0/Messages/MM1/Media/ME1", "image/jpeg");
    assert_twiml(post(&app, "/webhooks/twilio", &signed_message(media)).await).await;
    let image = app.store.message_by_provider_id(app.workspace, &media_sid).await.unwrap().expect("stored");
    assert_eq!((image.kind, image.content.as_str()), (MessageKind::Image, "[image]"));
    assert_eq!(image.conversation_id, conv.id, "same customer, same conversation");
    assert_eq!(image.payload["media"][0]["content_type"], "image/jpeg");
    assert!(image.payload["media"][0]["url"].as_str().is_some_and(|u| u.ends_with("/Media/ME1")));

    let location_sid = new_message_sid();
    let location = InboundForm::text(ACCOUNT, &location_sid, CUSTOMER, BUSINESS, "").location(
        "-23.5505",
        "-46.6333",
        Some("Casa"),
        None,
    );
    assert_twiml(post(&app, "/webhooks/twilio", &signed_message(location)).await).await;
    let place = app.store.message_by_provider_id(app.workspace, &location_sid).await.unwrap().expect("stored");
    assert_eq!((place.kind, place.content.as_str()), (MessageKind::Location, "📍 Location: Casa"));

    let reply_sid = new_message_sid();
    let button = InboundForm::text(ACCOUNT, &reply_sid, CUSTOMER, BUSINESS, "").button("Sim", "confirm", &text_sid);
    assert_twiml(post(&app, "/webhooks/twilio", &signed_message(button)).await).await;
    let pressed = app.store.message_by_provider_id(app.workspace, &reply_sid).await.unwrap().expect("stored");
    assert_eq!((pressed.kind, pressed.reply_to.as_deref()), (MessageKind::Button, Some(text_sid.as_str())));

    let conv = app.store.get_conversation(app.workspace, conv.id).await.unwrap();
    assert_eq!(conv.message_count, 4);
}

#[tokio::test]
async fn a_message_delivered_three_times_at_once_is_stored_once_and_due_once() {
    let app = spawn_app().await;
    twilio_sender(&app, BUSINESS).await;
    let sid = new_message_sid();
    let signed = signed_message(InboundForm::text(ACCOUNT, &sid, CUSTOMER, BUSINESS, "hello"));
    let posts = (0..3).map(|_| post(&app, "/webhooks/twilio", &signed));
    for res in futures_util::future::join_all(posts).await {
        assert_eq!(res.status(), 200);
    }
    let message = app.store.message_by_provider_id(app.workspace, &sid).await.unwrap().expect("stored");
    let conv = app.store.get_conversation(app.workspace, message.conversation_id).await.unwrap();
    assert_eq!(conv.message_count, 1);
    let now = OffsetDateTime::now_utc();
    let lease = app.store.claim_due("w", now, Duration::seconds(30)).await.unwrap().expect("one turn is due");
    assert_eq!(app.store.turn_messages(&lease, 0).await.unwrap().0.messages.len(), 1);
    assert_eq!(app.store.claim_due("w2", now, Duration::seconds(30)).await.unwrap(), None, "and only one");
}

#[tokio::test]
async fn bad_signatures_are_refused_and_nothing_is_stored() {
    let app = spawn_app().await;
    twilio_sender(&app, BUSINESS).await;
    let sid = new_message_sid();
    let form = InboundForm::text(ACCOUNT, &sid, CUSTOMER, BUSINESS, "olá, é urgente").into_form();
    let good = sign_form(AUTH_TOKEN, &public_url("/webhooks/twilio"), &form);

    let wrong_token = sign_form("another-token", &public_url("/webhooks/twilio"), &form);
    assert_eq!(post(&app, "/webhooks/twilio", &wrong_token).await.status(), 401);
    // signed for the address the server listens on, not the URL Twilio is configured with
    let wrong_url = sign_form(AUTH_TOKEN, &app.url("/webhooks/twilio"), &form);
    assert_eq!(post(&app, "/webhooks/twilio", &wrong_url).await.status(), 401);
    // signed for the other route
    assert_eq!(post(&app, "/webhooks/twilio/status", &good).await.status(), 401);
    assert_eq!(post_raw(&app, "/webhooks/twilio", good.body.clone(), None).await.status(), 401);
    assert_eq!(post_raw(&app, "/webhooks/twilio", good.body.clone(), Some("not base64!")).await.status(), 401);
    let mut altered = good.body.clone();
    altered.extend_from_slice(b"&Body=something+else");
    assert_eq!(post_raw(&app, "/webhooks/twilio", altered, Some(&good.signature)).await.status(), 401);
    assert!(app.store.message_by_provider_id(app.workspace, &sid).await.unwrap().is_none());
    assert!(app.store.list_webhook_events(Some(app.workspace), None, 10).await.unwrap().is_empty());

    assert_eq!(post(&app, "/webhooks/twilio", &good).await.status(), 200);
    assert!(app.store.message_by_provider_id(app.workspace, &sid).await.unwrap().is_some());
}

/// An outbound message as the outbox would have stored it after Twilio accepted it.
fn sent_message(sender: &Sender, sid: &str) -> InboundMessage {
    InboundMessage {
        workspace_id: sender.workspace_id,
        role: Role::Agent,
        conversation_type: ConversationType::Whatsapp,
        assistant_id: sender.assistant_id,
        sender_id: Some(sender.id),
        conversation_id: None,
        customer: CustomerIdentity::Whatsapp {
            wa_id: PhoneNumber::parse(CUSTOMER).ok(),
            business_scoped_user_id: None,
        },
        customer_name: None,
        provider_message_id: Some(sid.into()),
        kind: MessageKind::Text,
        content: "an earlier reply".into(),
        payload: Value::Null,
        reply_to: None,
        forwarded: false,
        sent_at: OffsetDateTime::now_utc(),
        response_delay: Default::default(),
        wants_reply: false,
        system_note: None,
    }
}

#[tokio::test]
async fn statuses_out_of_order_and_twice_end_in_the_right_state() {
    let app = spawn_app().await;
    let sender = twilio_sender(&app, BUSINESS).await;
    let (ok, undelivered) = (new_message_sid(), new_message_sid());
    for sid in [&ok, &undelivered] {
        app.store.ingest(&[sent_message(&sender, sid)], OffsetDateTime::now_utc()).await.unwrap();
    }
    let window = Some((63016, "Failed to send freeform message because you are outside the allowed window."));
    let posts = [
        signed_status(&ok, "read", None),
        signed_status(&ok, "sent", None),
        signed_status(&ok, "delivered", None),
        signed_status(&ok, "read", None),
        signed_status(&undelivered, "queued", None),
        signed_status(&undelivered, "undelivered", window),
        signed_status(&undelivered, "sent", None),
        signed_status(&undelivered, "undelivered", window),
    ];
    for signed in &posts {
        assert_twiml(post(&app, "/webhooks/twilio/status", signed).await).await;
    }
    let read = app.store.message_by_provider_id(app.workspace, &ok).await.unwrap().expect("stored");
    assert_eq!(read.status, DeliveryStatus::Read);
    let failed = app.store.message_by_provider_id(app.workspace, &undelivered).await.unwrap().expect("stored");
    assert_eq!(failed.status, DeliveryStatus::Failed);
    let error = failed.error.expect("the reason is kept");
    assert_eq!(error.code, Some(63016));
    assert!(error.title.contains("outside the allowed window"), "{}", error.title);

    // a status callback configured on the messages URL lands all the same
    let late = new_message_sid();
    app.store.ingest(&[sent_message(&sender, &late)], OffsetDateTime::now_utc()).await.unwrap();
    let form = status_callback_form(ACCOUNT, &late, "delivered", BUSINESS, CUSTOMER, None);
    let on_messages_url = sign_form(AUTH_TOKEN, &public_url("/webhooks/twilio"), &form);
    assert_twiml(post(&app, "/webhooks/twilio", &on_messages_url).await).await;
    let delivered = app.store.message_by_provider_id(app.workspace, &late).await.unwrap().expect("stored");
    assert_eq!(delivered.status, DeliveryStatus::Delivered);
}

#[tokio::test]
async fn unknown_numbers_are_kept_as_unrouted_and_unsigned_requests_are_not() {
    let app = spawn_app().await;
    let key = app.api_key(app.workspace).await;
    let sid = new_message_sid();
    let stranger = "+15550000000";
    let signed = signed_message(InboundForm::text(ACCOUNT, &sid, CUSTOMER, stranger, "anyone?"));
    assert_twiml(post(&app, "/webhooks/twilio", &signed).await).await;
    // without any signature it is not Twilio at all: refused, not kept
    assert_eq!(post_raw(&app, "/webhooks/twilio", signed.body.clone(), None).await.status(), 401);

    let unrouted =
        app.store.list_webhook_events(Some(app.workspace), Some(WebhookEventKind::Unrouted), 10).await.unwrap();
    assert_eq!(unrouted.len(), 1);
    assert_eq!(unrouted[0].provider, Provider::Twilio);
    assert_eq!(unrouted[0].phone_number_id.as_deref(), Some(stranger));
    assert_eq!(unrouted[0].body, signed.body, "the whole body is kept");
    assert!(app.store.message_by_provider_id(app.workspace, &sid).await.unwrap().is_none());
    let listed: Value = app.get("/api/v1/webhook-events?kind=unrouted", Some(&key)).await.json().await.unwrap();
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(1));

    // an SMS to a linked number is verified and kept as an event, not stored as WhatsApp
    twilio_sender(&app, BUSINESS).await;
    let sms = confab_channels::twilio::FormBody::from_pairs([
        ("MessageSid", "SM00000000000000000000000000000099"),
        ("From", CUSTOMER),
        ("To", BUSINESS),
        ("Body", "plain sms"),
        ("AccountSid", ACCOUNT),
    ]);
    let signed_sms = sign_form(AUTH_TOKEN, &public_url("/webhooks/twilio"), &sms);
    assert_twiml(post(&app, "/webhooks/twilio", &signed_sms).await).await;
    let events = app.store.list_webhook_events(Some(app.workspace), Some(WebhookEventKind::Event), 10).await.unwrap();
    assert_eq!(events.len(), 1);
    assert!(events[0].reason.as_deref().is_some_and(|r| r.contains("WhatsApp only")));
}

/// Twilio's side played by the fake Messages API: confab's client sends, the fake posts signed
/// status callbacks for the public URL, delivered to where the server really listens.
#[tokio::test]
async fn the_fake_twilio_apis_status_callbacks_are_accepted_in_order() {
    let app = spawn_app().await;
    let sender = twilio_sender(&app, BUSINESS).await;
    let api = FakeTwilioApi::start(
        FakeTwilioConfig::new()
            .with_account(ACCOUNT, AUTH_TOKEN)
            .with_progression(&["queued", "sent", "read", "delivered"])
            .delivering_callbacks_to(format!("http://{}", app.addr)),
    )
    .await
    .expect("fake starts");
    let client = MessagesClient::new(&api.base_url(), std::time::Duration::from_secs(5)).expect("client");
    let credentials = TwilioCredentials::from_access_token(&sender.access_token).expect("stored credentials");
    let message = OutgoingMessage {
        from: PhoneNumber::parse(BUSINESS).unwrap(),
        to: PhoneNumber::parse(CUSTOMER).unwrap(),
        content: OutgoingContent::Text { body: "Abrimos sábado às 9h.".into() },
        status_callback: Some(public_url("/webhooks/twilio/status")),
    };
    // the outbox's steps, by hand: queue a reply, claim it, send it, record Twilio's sid
    let now = OffsetDateTime::now_utc();
    let customer = PhoneNumber::parse(CUSTOMER).unwrap();
    let conversation = app.store.open_whatsapp_conversation(&sender, &customer, now).await.unwrap();
    let reply = NewMessage::text(Role::Assistant, "Abrimos sábado às 9h.");
    let ids = app.store.enqueue_outbound(app.workspace, conversation.id, &[reply], now).await.unwrap();
    let jobs = app.store.claim_outbound(now, Duration::seconds(30), 10).await.unwrap();
    assert_eq!(jobs.iter().map(|j| j.message.id).collect::<Vec<_>>(), ids);
    let resource = client.send(&credentials, &message).await.expect("accepted");
    // callbacks may already be arriving: statuses seen before the sid was recorded still apply
    let sent = SendResult::Sent { provider_message_id: resource.sid.clone() };
    app.store.record_send_result(ids[0], sent, OffsetDateTime::now_utc()).await.unwrap();
    let callbacks = api.wait_for_callbacks().await;
    assert_eq!(callbacks.len(), 4);
    assert!(callbacks.iter().all(|c| c.http_status == Some(200)), "{callbacks:?}");
    let stored = app.store.message_by_provider_id(app.workspace, &resource.sid).await.unwrap().expect("stored");
    assert_eq!(stored.status, DeliveryStatus::Read, "a late `delivered` does not undo `read`");
}

#[tokio::test]
async fn nul_characters_from_twilio_are_stored_as_replacement_characters_on_every_backend() {
    for backend in backends() {
        let app = spawn_app_on(backend).await;
        twilio_sender(&app, BUSINESS).await;
        let sid = new_message_sid();
        let form = InboundForm::text(ACCOUNT, &sid, CUSTOMER, BUSINESS, "a\u{0}b").profile_name("Nul\u{0}Name");
        assert_twiml(post(&app, "/webhooks/twilio", &signed_message(form)).await).await;
        let stored = app.store.message_by_provider_id(app.workspace, &sid).await.unwrap().expect("stored");
        assert_eq!(stored.content, "a\u{FFFD}b");
        let conv = app.store.get_conversation(app.workspace, stored.conversation_id).await.unwrap();
        let customers = app.store.customers_by_ids(app.workspace, &[conv.customer_id]).await.unwrap();
        assert_eq!(customers[0].name.as_deref(), Some("Nul\u{FFFD}Name"));
    }
}
