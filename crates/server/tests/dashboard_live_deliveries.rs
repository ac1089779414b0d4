//! Live pages and delivery statuses: a status webhook (sent → delivered → read, failed)
//! changes no message count, yet an open conversation page and a list showing that
//! conversation are told at once over their server-sent events.

#![allow(clippy::unwrap_used)]

mod support;

use confab_domain::{PhoneNumber, Role, UserRole};
use confab_sim::meta_webhook::{messages_payload, status, text_message, BusinessNumber, Customer};
use confab_storage::{NewMessage, SendResult};
use reqwest::header::COOKIE;
use support::dashboard_visitor::{login, Visitor};
use support::{spawn_app, TestApp};
use time::OffsetDateTime;

const PHONE_NUMBER_ID: &str = "106540352242922";

/// Reads the event stream until `wanted` appears in it; fails after `limit`.
async fn read_until(response: &mut reqwest::Response, wanted: &str, limit: std::time::Duration) -> String {
    let mut seen = String::new();
    let reading = async {
        while !seen.contains(wanted) {
            let chunk = response.chunk().await.unwrap().expect("the stream ended first");
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    };
    tokio::time::timeout(limit, reading).await.unwrap_or_else(|_| panic!("no `{wanted}` within {limit:?}"));
    seen
}

async fn listen(app: &TestApp, visitor: &Visitor, path: &str) -> reqwest::Response {
    let mut response = visitor.client.get(app.url(path)).header(COOKIE, &visitor.cookie).send().await.unwrap();
    assert_eq!(response.status(), 200);
    read_until(&mut response, "listening", std::time::Duration::from_secs(5)).await;
    response
}

#[tokio::test]
async fn a_delivery_status_refreshes_the_open_conversation_and_the_list() {
    let app = spawn_app().await;
    let sender = app.meta_sender(PHONE_NUMBER_ID).await;
    let number = BusinessNumber { phone_number_id: PHONE_NUMBER_ID.into(), display_phone_number: "15550783881".into() };
    let ana = Customer { wa_id: "15551230001".into(), name: "Ana".into() };
    let now = OffsetDateTime::now_utc();
    let hello = messages_payload(&number, &[&ana], vec![text_message(&ana, "wamid.in1", "hello", now)], vec![]);
    assert_eq!(app.post_signed(&hello).await.status(), 200);
    let conversation =
        app.store.open_whatsapp_conversation(&sender, &PhoneNumber::parse("+15551230001").unwrap(), now).await.unwrap();
    let ids = app
        .store
        .enqueue_outbound(app.workspace, conversation.id, &[NewMessage::text(Role::Agent, "Hi Ana")], now)
        .await
        .unwrap();
    let sent = SendResult::Sent { provider_message_id: "wamid.out1".into() };
    app.store.record_send_result(ids[0], sent, now).await.unwrap();

    let viewer = login(&app, "viewer@example.com", UserRole::Viewer).await;
    let mut page = listen(&app, &viewer, &format!("/conversations/{}/live", conversation.id)).await;
    let mut list = listen(&app, &viewer, "/conversations/live").await;

    let delivered = messages_payload(&number, &[], vec![], vec![status("wamid.out1", "delivered", &ana.wa_id, now)]);
    assert_eq!(app.post_signed(&delivered).await.status(), 200);
    // far sooner than the stream's lifetime; without the event the page would never be told
    let within = std::time::Duration::from_secs(10);
    read_until(&mut page, "event: changed", within).await;
    read_until(&mut list, "event: changed", within).await;
    let messages = app.store.list_messages(app.workspace, conversation.id, None, 10).await.unwrap();
    let reply = messages.iter().find(|m| m.id == ids[0]).unwrap();
    assert_eq!(reply.status, confab_domain::DeliveryStatus::Delivered);
}
