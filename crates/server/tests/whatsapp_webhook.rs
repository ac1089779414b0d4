//! The Meta webhook end to end: the real server on 127.0.0.1, signed bodies in, rows out.

#![allow(clippy::unwrap_used)]

mod support;

use confab_channels::whatsapp::parse_webhook;
use confab_domain::{ConversationStatus, DeliveryStatus, MessageKind, Role};
use confab_sim::meta_webhook::{messages_payload, status, text_message, BusinessNumber, Customer};
use confab_storage::{ConversationFilter, PageRequest, WebhookEventKind};
use serde_json::Value;
use std::path::PathBuf;
use support::*;
use time::{Duration, OffsetDateTime};

const PHONE_NUMBER_ID: &str = "106540352242922";

fn number() -> BusinessNumber {
    BusinessNumber { phone_number_id: PHONE_NUMBER_ID.into(), display_phone_number: "15550783881".into() }
}

fn customer(i: usize) -> Customer {
    Customer { wa_id: format!("1650555{i:04}"), name: format!("Customer {i}") }
}

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/whatsapp-cloud/pywa")
}

#[tokio::test]
async fn the_handshake_echoes_the_challenge_only_for_the_right_token() {
    let app = spawn_app().await;
    let url = |token: &str, mode: &str| {
        format!("/webhooks/whatsapp?hub.mode={mode}&hub.verify_token={token}&hub.challenge=1158201444")
    };
    let ok = app.get(&url(VERIFY_TOKEN, "subscribe"), None).await;
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.unwrap(), "1158201444");
    assert_eq!(app.get(&url("wrong", "subscribe"), None).await.status(), 403);
    assert_eq!(app.get(&url(VERIFY_TOKEN, "unsubscribe"), None).await.status(), 403);
    assert_eq!(app.get("/webhooks/whatsapp", None).await.status(), 403);
}

/// Every payload shape in shared/fixtures, posted signed: 200, and stored as what it is.
#[tokio::test]
async fn every_fixture_is_accepted_and_stored_with_its_type() {
    let app = spawn_app().await;
    let mut files: Vec<_> =
        std::fs::read_dir(fixtures_dir()).expect("the fixtures folder").map(|e| e.unwrap().path()).collect();
    files.retain(|p| p.extension().is_some_and(|e| e == "json"));
    files.sort();
    assert!(files.len() >= 19, "fixtures found: {}", files.len());
    let mut senders = std::collections::HashMap::new();
    // some cases reuse a wamid: the later one is a duplicate and must change nothing
    let mut seen_wamids = std::collections::HashSet::new();
    let mut checked = 0;
    for file in files {
        let cases: serde_json::Map<String, Value> = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        for (case, payload) in cases {
            let label = format!("{}/{case}", file.file_name().unwrap().to_string_lossy());
            let body = confab_sim::ascii_json::to_ascii_json(&payload);
            let batch = parse_webhook(&body).unwrap_or_else(|e| panic!("{label}: {e}"));
            // link every numeric phone-number id to a sender; placeholders stay unrouted
            let ids = batch
                .messages
                .iter()
                .map(|m| &m.phone_number_id)
                .chain(batch.statuses.iter().map(|s| &s.phone_number_id))
                .chain(batch.echoes.iter().map(|e| &e.phone_number_id));
            for id in ids {
                if id.bytes().all(|b| b.is_ascii_digit()) && !senders.contains_key(id) {
                    senders.insert(id.clone(), app.meta_sender(id).await);
                }
            }
            // statuses are about messages we sent: store those first
            for update in &batch.statuses {
                if let Some(sender) = senders.get(&update.phone_number_id) {
                    let mut sent =
                        echo_for(sender, &update.wamid, update.recipient_id.as_deref().unwrap_or("16505550000"));
                    sent.assistant_id = sender.assistant_id;
                    app.store.ingest(&[sent], OffsetDateTime::now_utc()).await.unwrap();
                }
            }
            let mut status_before = std::collections::HashMap::new();
            for s in &batch.statuses {
                if let Some(m) = app.store.message_by_provider_id(app.workspace, &s.wamid).await.unwrap() {
                    status_before.insert(s.wamid.clone(), m.status);
                }
            }
            let events_before = app.store.list_webhook_events(Some(app.workspace), None, 1000).await.unwrap().len();
            let signed = confab_sim::meta_webhook::sign(APP_SECRET, &payload);
            let res = app.post_whatsapp(signed.body, Some(&signed.signature)).await;
            assert_eq!(res.status(), 200, "{label}");

            let routed = |id: &str| senders.contains_key(id);
            for m in batch.messages.iter().filter(|m| routed(&m.phone_number_id)) {
                let stored = app
                    .store
                    .message_by_provider_id(app.workspace, &m.wamid)
                    .await
                    .unwrap()
                    .unwrap_or_else(|| panic!("{label}: {} not stored", m.wamid));
                if seen_wamids.insert(m.wamid.clone()) {
                    assert_eq!((stored.kind, stored.role), (m.kind, Role::User), "{label}");
                    assert_eq!(stored.content, m.content, "{label}");
                }
            }
            for e in batch.echoes.iter().filter(|e| routed(&e.phone_number_id)) {
                let stored =
                    app.store.message_by_provider_id(app.workspace, &e.wamid).await.unwrap().expect("echo stored");
                if seen_wamids.insert(e.wamid.clone()) {
                    assert_eq!((stored.kind, stored.role), (e.kind, Role::Agent), "{label}");
                }
            }
            for s in batch.statuses.iter().filter(|s| routed(&s.phone_number_id)) {
                let stored =
                    app.store.message_by_provider_id(app.workspace, &s.wamid).await.unwrap().expect("status target");
                let expected = status_before[&s.wamid].advance_to(s.status.expect("known status"));
                assert_eq!(stored.status, expected, "{label}");
                if expected == DeliveryStatus::Failed {
                    assert_eq!(stored.error.as_ref().and_then(|e| e.code), s.error().and_then(|e| e.code), "{label}");
                }
            }
            let unrouted_items = batch
                .messages
                .iter()
                .map(|m| &m.phone_number_id)
                .chain(batch.statuses.iter().map(|s| &s.phone_number_id))
                .filter(|id| !routed(id))
                .count();
            let kept = batch.other_events.len() + batch.change_errors.len() + usize::from(unrouted_items > 0);
            let events_after = app.store.list_webhook_events(Some(app.workspace), None, 1000).await.unwrap();
            assert_eq!(events_after.len() - events_before, kept, "{label}: every other item is kept");
            for other in &batch.other_events {
                assert!(
                    events_after
                        .iter()
                        .any(|e| e.kind == WebhookEventKind::Event && e.field.as_deref() == Some(&other.field)),
                    "{label}"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 74, "cases checked: {checked}");
}

fn echo_for(sender: &confab_domain::Sender, wamid: &str, to: &str) -> confab_domain::InboundMessage {
    confab_domain::InboundMessage {
        workspace_id: sender.workspace_id,
        role: Role::Agent,
        conversation_type: confab_domain::ConversationType::Whatsapp,
        assistant_id: sender.assistant_id,
        sender_id: Some(sender.id),
        conversation_id: None,
        customer: confab_domain::CustomerIdentity::Whatsapp {
            wa_id: confab_domain::PhoneNumber::parse(to).ok(),
            business_scoped_user_id: None,
        },
        customer_name: None,
        provider_message_id: Some(wamid.into()),
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
async fn bad_signatures_are_refused_and_nothing_is_stored() {
    let app = spawn_app().await;
    app.meta_sender(PHONE_NUMBER_ID).await;
    let ana = customer(1);
    let payload = messages_payload(
        &number(),
        &[&ana],
        vec![text_message(&ana, "wamid.sig", "olá, está aí? é urgente", OffsetDateTime::now_utc())],
        vec![],
    );
    let signed = confab_sim::meta_webhook::sign(APP_SECRET, &payload);

    let wrong = confab_sim::meta_webhook::sign("another-secret", &payload);
    assert_eq!(app.post_whatsapp(signed.body.clone(), Some(&wrong.signature)).await.status(), 401);
    assert_eq!(app.post_whatsapp(signed.body.clone(), None).await.status(), 401);
    assert_eq!(app.post_whatsapp(signed.body.clone(), Some("sha256=zz")).await.status(), 401);
    // the same JSON re-serialised (raw UTF-8 instead of \u escapes) is not what was signed
    let reserialised = serde_json::to_vec(&serde_json::from_slice::<Value>(&signed.body).unwrap()).unwrap();
    assert_ne!(reserialised, signed.body);
    assert_eq!(app.post_whatsapp(reserialised, Some(&signed.signature)).await.status(), 401);
    assert!(app.store.message_by_provider_id(app.workspace, "wamid.sig").await.unwrap().is_none());

    assert_eq!(app.post_whatsapp(signed.body, Some(&signed.signature)).await.status(), 200);
    assert!(app.store.message_by_provider_id(app.workspace, "wamid.sig").await.unwrap().is_some());
}

#[tokio::test]
async fn oversize_bodies_get_413() {
    let app = spawn_app().await;
    let body = vec![b' '; 5 * 1024 * 1024];
    let signature = confab_channels::whatsapp::sign(APP_SECRET.as_bytes(), &body);
    assert_eq!(app.post_whatsapp(body, Some(&signature)).await.status(), 413);
}

#[tokio::test]
async fn a_message_delivered_three_times_at_once_is_stored_once_and_due_once() {
    let app = spawn_app().await;
    app.meta_sender(PHONE_NUMBER_ID).await;
    let ana = customer(1);
    let payload = messages_payload(
        &number(),
        &[&ana],
        vec![text_message(&ana, "wamid.thrice", "hello", OffsetDateTime::now_utc())],
        vec![],
    );
    let posts = (0..3).map(|_| app.post_signed(&payload));
    for res in futures_util::future::join_all(posts).await {
        assert_eq!(res.status(), 200);
    }
    let message = app.store.message_by_provider_id(app.workspace, "wamid.thrice").await.unwrap().unwrap();
    let conv = app.store.get_conversation(app.workspace, message.conversation_id).await.unwrap();
    assert_eq!(conv.message_count, 1);
    let now = OffsetDateTime::now_utc();
    let lease = app.store.claim_due("w", now, Duration::seconds(30)).await.unwrap().expect("one turn is due");
    assert_eq!(app.store.turn_messages(&lease, 0).await.unwrap().0.messages.len(), 1);
    assert_eq!(app.store.claim_due("w2", now, Duration::seconds(30)).await.unwrap(), None, "and only one");
}

#[tokio::test]
async fn one_post_with_1000_messages_is_stored_whole() {
    let app = spawn_app().await;
    app.meta_sender(PHONE_NUMBER_ID).await;
    let customers: Vec<_> = (0..100).map(customer).collect();
    let now = OffsetDateTime::now_utc();
    let messages = (0..1000)
        .map(|i| text_message(&customers[i % 100], &format!("wamid.bulk.{i}"), &format!("message {i}"), now))
        .collect();
    let payload = messages_payload(&number(), &customers.iter().collect::<Vec<_>>(), messages, vec![]);
    assert_eq!(app.post_signed(&payload).await.status(), 200);
    let page = app
        .store
        .list_conversations(app.workspace, &ConversationFilter::default(), PageRequest::first(100))
        .await
        .unwrap();
    assert_eq!(page.items.len(), 100);
    assert!(page.next.is_none());
    assert_eq!(page.items.iter().map(|c| c.message_count).sum::<i64>(), 1000);
    assert!(page.items.iter().all(|c| c.status == ConversationStatus::Active && c.customer_message_count == 10));
}

#[tokio::test]
async fn statuses_out_of_order_and_twice_end_in_the_right_state() {
    let app = spawn_app().await;
    let sender = app.meta_sender(PHONE_NUMBER_ID).await;
    let ana = customer(1);
    for wamid in ["wamid.s.ok", "wamid.s.fail"] {
        app.store.ingest(&[echo_for(&sender, wamid, &ana.wa_id)], OffsetDateTime::now_utc()).await.unwrap();
    }
    let now = OffsetDateTime::now_utc();
    let mut failed = status("wamid.s.fail", "failed", &ana.wa_id, now);
    failed["errors"] = serde_json::json!([{ "code": 131026, "title": "Message undeliverable", "error_data": { "details": "Receiver is incapable of receiving this message" } }]);
    let posts = [
        vec![status("wamid.s.ok", "read", &ana.wa_id, now)],
        vec![status("wamid.s.ok", "sent", &ana.wa_id, now), status("wamid.s.ok", "delivered", &ana.wa_id, now)],
        vec![status("wamid.s.ok", "read", &ana.wa_id, now), failed.clone()],
        vec![status("wamid.s.fail", "delivered", &ana.wa_id, now), failed],
    ];
    for statuses in posts {
        assert_eq!(app.post_signed(&messages_payload(&number(), &[], vec![], statuses)).await.status(), 200);
    }
    let ok = app.store.message_by_provider_id(app.workspace, "wamid.s.ok").await.unwrap().unwrap();
    assert_eq!(ok.status, DeliveryStatus::Read);
    let failed = app.store.message_by_provider_id(app.workspace, "wamid.s.fail").await.unwrap().unwrap();
    assert_eq!(failed.status, DeliveryStatus::Failed);
    let error = failed.error.unwrap();
    assert_eq!(error.code, Some(131026));
    assert_eq!(error.details.as_deref(), Some("Receiver is incapable of receiving this message"));
}

#[tokio::test]
async fn unknown_numbers_and_unparseable_bodies_are_kept_and_visible() {
    let app = spawn_app().await;
    let key = app.api_key(app.workspace).await;
    let stranger = BusinessNumber { phone_number_id: "999000999".into(), display_phone_number: "15550000000".into() };
    let ana = customer(1);
    let payload = messages_payload(
        &stranger,
        &[&ana],
        vec![text_message(&ana, "wamid.lost", "anyone?", OffsetDateTime::now_utc())],
        vec![],
    );
    assert_eq!(app.post_signed(&payload).await.status(), 200);
    let garbage = b"{\"object\": \"whatsapp_business_account\", \"entry\": oops".to_vec();
    let signature = confab_channels::whatsapp::sign(APP_SECRET.as_bytes(), &garbage);
    assert_eq!(app.post_whatsapp(garbage.clone(), Some(&signature)).await.status(), 200);

    let unrouted: Value = app.get("/api/v1/webhook-events?kind=unrouted", Some(&key)).await.json().await.unwrap();
    let items = unrouted["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["phone_number_id"], "999000999");
    assert_eq!(
        items[0]["body"]["json"]["entry"][0]["changes"][0]["value"]["messages"][0]["id"], "wamid.lost",
        "the whole body is kept"
    );
    let dead: Value = app.get("/api/v1/webhook-events?kind=dead_letter", Some(&key)).await.json().await.unwrap();
    let items = dead["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["body"]["text"], String::from_utf8(garbage).unwrap());
    assert!(items[0]["reason"].as_str().unwrap().contains("JSON"), "{}", items[0]["reason"]);
    assert_eq!(app.get("/api/v1/webhook-events?kind=nope", Some(&key)).await.status(), 422);
    assert_eq!(app.get("/api/v1/webhook-events", None).await.status(), 401);
}

#[tokio::test]
async fn replayed_old_messages_are_stored_with_a_note_and_not_answered() {
    let app = spawn_app().await;
    app.meta_sender(PHONE_NUMBER_ID).await;
    let ana = customer(1);
    let sent = OffsetDateTime::now_utc() - Duration::hours(2);
    let payload = messages_payload(&number(), &[&ana], vec![text_message(&ana, "wamid.old", "hello?", sent)], vec![]);
    assert_eq!(app.post_signed(&payload).await.status(), 200);
    let message = app.store.message_by_provider_id(app.workspace, "wamid.old").await.unwrap().unwrap();
    let all = app.store.list_messages(app.workspace, message.conversation_id, None, 10).await.unwrap();
    assert_eq!(all.iter().map(|m| m.role).collect::<Vec<_>>(), [Role::User, Role::System]);
    assert_eq!(
        app.store
            .claim_due("w", OffsetDateTime::now_utc() + Duration::minutes(1), Duration::seconds(30))
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn the_window_follows_the_customers_own_timestamp() {
    let app = spawn_app().await;
    app.meta_sender(PHONE_NUMBER_ID).await;
    let ana = customer(1);
    let sent = OffsetDateTime::now_utc() - Duration::hours(25);
    let payload = messages_payload(&number(), &[&ana], vec![text_message(&ana, "wamid.25h", "hi", sent)], vec![]);
    assert_eq!(app.post_signed(&payload).await.status(), 200);
    let message = app.store.message_by_provider_id(app.workspace, "wamid.25h").await.unwrap().unwrap();
    let conv = app.store.get_conversation(app.workspace, message.conversation_id).await.unwrap();
    assert!(
        !conv.window().is_open(OffsetDateTime::now_utc()),
        "a customer who wrote 25 hours ago is outside the window"
    );
    let fresh = messages_payload(
        &number(),
        &[&ana],
        vec![text_message(&ana, "wamid.now", "still there?", OffsetDateTime::now_utc())],
        vec![],
    );
    app.post_signed(&fresh).await;
    let conv = app.store.get_conversation(app.workspace, message.conversation_id).await.unwrap();
    assert!(conv.window().is_open(OffsetDateTime::now_utc()));
}

#[tokio::test]
async fn nul_characters_from_whatsapp_are_stored_as_replacement_characters_on_every_backend() {
    for backend in backends() {
        let app = spawn_app_on(backend).await;
        app.meta_sender(PHONE_NUMBER_ID).await;
        let odd = Customer { wa_id: "16505550199".into(), name: "Nul\u{0}Name".into() };
        let plain = customer(2);
        let now = OffsetDateTime::now_utc();
        let payload = messages_payload(
            &number(),
            &[&odd, &plain],
            vec![
                text_message(&odd, "wamid.nul", "a\u{0}b", now),
                text_message(&plain, "wamid.beside-nul", "hello", now),
            ],
            vec![],
        );
        assert_eq!(
            app.post_signed(&payload).await.status(),
            200,
            "PostgreSQL cannot store NUL: it must not fail the post"
        );
        let odd_message = app.store.message_by_provider_id(app.workspace, "wamid.nul").await.unwrap().unwrap();
        assert_eq!(odd_message.content, "a\u{FFFD}b");
        assert!(!odd_message.payload.to_string().contains("\\u0000"), "{}", odd_message.payload);
        let conversation = app.store.get_conversation(app.workspace, odd_message.conversation_id).await.unwrap();
        let customers = app.store.customers_by_ids(app.workspace, &[conversation.customer_id]).await.unwrap();
        assert_eq!(customers[0].name.as_deref(), Some("Nul\u{FFFD}Name"));
        let beside = app.store.message_by_provider_id(app.workspace, "wamid.beside-nul").await.unwrap().unwrap();
        assert_eq!(beside.content, "hello");
    }
}
