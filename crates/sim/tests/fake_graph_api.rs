//! confab's Graph API client against the fake Graph API, end to end on 127.0.0.1: sends and
//! their receipts, every error class through real HTTP, transport failures, mark-as-read, and
//! the signed status webhooks the fake posts back (in order, duplicated, reversed, failed).
//!
//! (These live in `sim` because `channels` cannot depend on `sim`, which depends on it.)

#![allow(clippy::unwrap_used)]

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use confab_channels::whatsapp::{
    classify, parse_webhook, verify_signature, ErrorClass, FailReason, GraphClient, GraphError, MediaKind, MediaSource,
    OutboundMessage, ReplyButton, StatusUpdate, TransportFailure, PAIR_RATE_LIMIT_WAIT, SIGNATURE_HEADER,
};
use confab_domain::{DeliveryError, DeliveryStatus, Secret};
use confab_sim::fake_graph_api::{FakeGraphApi, FakeGraphConfig, StatusWebhook};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const PNID: &str = "106540352242922";
const DISPLAY: &str = "15550783881";
const TOKEN: &str = "EAAG-fake-token-for-tests";
const CUSTOMER: &str = "16505551234";
const APP_SECRET: &str = "app-secret";

fn token() -> Secret {
    Secret::new(TOKEN)
}

fn config() -> FakeGraphConfig {
    FakeGraphConfig::new().with_number(PNID, DISPLAY, TOKEN)
}

fn client_for(base_url: &str) -> GraphClient {
    GraphClient::new(base_url, "v23.0", Duration::from_secs(5)).expect("client")
}

fn text(body: &str) -> OutboundMessage {
    OutboundMessage::Text { to: CUSTOMER.into(), body: body.into(), reply_to: None, preview_url: false }
}

async fn start(config: FakeGraphConfig) -> (FakeGraphApi, GraphClient) {
    let fake = FakeGraphApi::start(config).await.expect("fake starts");
    let client = client_for(&fake.base_url());
    (fake, client)
}

#[tokio::test]
async fn a_send_returns_the_wamid_and_is_recorded_exactly() {
    let (fake, client) = start(config()).await;
    let message = OutboundMessage::Text {
        to: CUSTOMER.into(),
        body: "¿Qué tal? 😀".into(),
        reply_to: Some("wamid.IN".into()),
        preview_url: true,
    };
    let receipt = client.send(PNID, &token(), &message).await.expect("sent");
    assert!(receipt.wamid.starts_with("wamid."), "{}", receipt.wamid);
    assert_eq!(receipt.wa_id.as_deref(), Some(CUSTOMER));
    assert_eq!(receipt.message_status, None);

    let sent = fake.sent();
    assert_eq!(sent.len(), 1);
    let recorded = &sent[0];
    assert_eq!((recorded.version.as_str(), recorded.phone_number_id.as_str()), ("v23.0", PNID));
    assert_eq!(recorded.token.as_deref(), Some(TOKEN));
    assert_eq!(recorded.body, message.to_request_body());
    assert_eq!((recorded.http_status, recorded.wamid.as_deref()), (200, Some(receipt.wamid.as_str())));
    assert!(fake.read_marks().is_empty());
}

#[tokio::test]
async fn every_message_kind_is_accepted_with_a_unique_wamid() {
    let (fake, client) = start(config()).await;
    let messages = [
        text("hello"),
        OutboundMessage::Template {
            to: CUSTOMER.into(),
            name: "order_update".into(),
            language: "en_US".into(),
            components: json!([{ "type": "body", "parameters": [{ "type": "text", "text": "42" }] }]),
        },
        OutboundMessage::Buttons {
            to: CUSTOMER.into(),
            body: "Pick".into(),
            buttons: vec![ReplyButton { id: "y".into(), title: "Yes".into() }],
        },
        OutboundMessage::Media {
            to: CUSTOMER.into(),
            kind: MediaKind::Document,
            source: MediaSource::Link("https://example.com/a.pdf".into()),
            caption: None,
            filename: Some("a.pdf".into()),
        },
        OutboundMessage::Reaction { to: CUSTOMER.into(), message_id: "wamid.IN".into(), emoji: "👍".into() },
    ];
    let mut wamids = Vec::new();
    for message in &messages {
        message.validate().expect("valid");
        let receipt = client.send(PNID, &token(), message).await.expect("sent");
        let is_template = matches!(message, OutboundMessage::Template { .. });
        assert_eq!(receipt.message_status.as_deref(), is_template.then_some("accepted"));
        wamids.push(receipt.wamid);
    }
    // concurrent sends too
    let sends = (0..20).map(|i| {
        let client = client.clone();
        async move { client.send(PNID, &token(), &text(&format!("n{i}"))).await }
    });
    for receipt in futures_join(sends).await {
        wamids.push(receipt.expect("sent").wamid);
    }
    let unique: std::collections::HashSet<_> = wamids.iter().collect();
    assert_eq!(unique.len(), wamids.len());
    assert_eq!(fake.sent().len(), wamids.len());
}

/// Runs futures concurrently on the runtime and collects their outputs in order.
async fn futures_join<F, T>(futures: impl Iterator<Item = F>) -> Vec<T>
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for handle in handles {
        out.push(handle.await.expect("task"));
    }
    out
}

fn retry(after: Option<Duration>) -> ErrorClass {
    ErrorClass::Retry { after }
}

fn fail(reason: FailReason) -> ErrorClass {
    ErrorClass::Fail { reason }
}

/// Every class, through real HTTP: the fake answers Meta's error body, the client parses it,
/// `classify` decides. HTTP statuses as Meta's error-code reference gives them.
#[tokio::test]
async fn every_error_class_end_to_end() {
    let (fake, client) = start(config()).await;
    let table = [
        (500, 131000, "Something went wrong", retry(None)),
        (503, 131016, "Service unavailable", retry(None)),
        (400, 130429, "Rate limit hit", retry(None)),
        (400, 131056, "(Business Account, Consumer Account) pair rate limit hit", retry(Some(PAIR_RATE_LIMIT_WAIT))),
        (400, 4, "Application request limit reached", retry(None)),
        (400, 80007, "Rate limit issues", retry(None)),
        (400, 131047, "Re-engagement message", fail(FailReason::OutsideWindow)),
        (400, 131026, "Message Undeliverable", fail(FailReason::Undeliverable)),
        (404, 132001, "Template name does not exist in the translation", fail(FailReason::Template)),
        (400, 132015, "Template is Paused", fail(FailReason::Template)),
        (400, 100, "Invalid parameter", fail(FailReason::InvalidParameter)),
        (400, 131008, "Required parameter is missing", fail(FailReason::InvalidParameter)),
        (400, 131053, "Media upload error", fail(FailReason::Media)),
        (401, 190, "Error validating access token: Session has expired", fail(FailReason::TokenExpired)),
        (403, 10, "Application does not have permission for this action", fail(FailReason::Permission)),
        (403, 131031, "Account has been locked", fail(FailReason::SenderRestricted)),
        (
            400,
            131049,
            "This message was not delivered to maintain healthy ecosystem engagement.",
            fail(FailReason::Declined),
        ),
        (500, 999_999, "A code nobody knows", retry(None)),
        (400, 999_999, "A code nobody knows", fail(FailReason::Other)),
    ];
    for (status, code, title, expected) in table {
        fake.fail_next(1, status, code, title);
        let e = client.send(PNID, &token(), &text("hi")).await.expect_err("injected failure");
        assert_eq!((e.http_status, e.code), (status, Some(code)), "{e}");
        assert_eq!(e.title, title);
        assert!(e.fbtrace_id.is_some());
        assert_eq!(classify(&e), expected, "code {code}: {e}");
        let recorded = DeliveryError::from(&e);
        assert_eq!((recorded.code, recorded.title.as_str()), (Some(code), title));
    }
    // injected failures are used up one per request, then sends succeed again
    fake.fail_next(2, 500, 131000, "Something went wrong");
    assert!(client.send(PNID, &token(), &text("1")).await.is_err());
    assert!(client.send(PNID, &token(), &text("2")).await.is_err());
    client.send(PNID, &token(), &text("3")).await.expect("recovered");
    let statuses: Vec<u16> = fake.sent().iter().map(|s| s.http_status).collect();
    assert_eq!(statuses.len(), table.len() + 3);
    assert_eq!(statuses[table.len()..], [500, 500, 200]);
}

#[tokio::test]
async fn a_proxy_page_instead_of_json_is_a_transient_error() {
    let (fake, client) = start(config()).await;
    fake.fail_next_raw(1, 502, "<html><body><h1>502 Bad Gateway</h1></body></html>");
    let e = client.send(PNID, &token(), &text("hi")).await.expect_err("502");
    assert_eq!((e.http_status, e.code, e.transport), (502, None, None));
    assert!(e.details.as_deref().is_some_and(|d| d.contains("502 Bad Gateway")), "{e}");
    assert_eq!(classify(&e), retry(None));
}

#[tokio::test]
async fn a_wrong_or_missing_token_is_a_token_error_and_never_leaks() {
    let (fake, client) = start(config()).await;
    let wrong = Secret::new("EAAG-wrong-token");
    let e = client.send(PNID, &wrong, &text("hi")).await.expect_err("refused");
    assert_eq!((e.http_status, e.code), (401, Some(190)));
    assert_eq!(classify(&e), fail(FailReason::TokenExpired));
    assert!(FailReason::TokenExpired.needs_sender_attention());
    for shown in [format!("{e}"), format!("{e:?}"), format!("{client:?}"), format!("{wrong:?}")] {
        assert!(!shown.contains("EAAG-wrong-token"), "{shown}");
    }
    let missing = client.send(PNID, &Secret::new(""), &text("hi")).await.expect_err("refused");
    assert_eq!((missing.http_status, missing.code), (401, Some(104)));
    assert_eq!(classify(&missing), fail(FailReason::TokenExpired));
    let tokens: Vec<Option<String>> = fake.sent().into_iter().map(|s| s.token).collect();
    assert_eq!(tokens, [Some("EAAG-wrong-token".to_owned()), None]);
}

#[tokio::test]
async fn an_unknown_phone_number_id_points_at_the_sender() {
    let (_fake, client) = start(config()).await;
    let e = client.send("999", &token(), &text("hi")).await.expect_err("refused");
    assert_eq!((e.http_status, e.code, e.subcode), (400, Some(100), Some(33)));
    assert!(e.title.contains("Object with ID '999' does not exist"), "{}", e.title);
    assert_eq!(classify(&e), fail(FailReason::Permission));
}

#[tokio::test]
async fn the_fake_checks_bodies_minimally_as_meta_does() {
    let fake = FakeGraphApi::start(config()).await.expect("fake starts");
    let url = format!("{}/v23.0/{PNID}/messages", fake.base_url());
    let http = reqwest::Client::new();
    let cases = [
        (json!({"messaging_product": "whatsapp", "type": "text", "text": {"body": "x"}}), "to"),
        (json!({"messaging_product": "whatsapp", "to": CUSTOMER, "text": {"body": "x"}}), "type"),
        (json!({"to": CUSTOMER, "type": "text", "text": {"body": "x"}}), "messaging_product"),
        (json!({"messaging_product": "whatsapp", "to": CUSTOMER, "type": "image"}), "image"),
        (json!({"messaging_product": "whatsapp", "status": "read"}), "message_id"),
    ];
    for (body, parameter) in cases {
        let response = http.post(&url).bearer_auth(TOKEN).json(&body).send().await.expect("answered");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let status = response.status().as_u16();
        let e = GraphError::from_response(status, &response.bytes().await.expect("body"), None);
        assert_eq!(e.code, Some(100));
        assert_eq!(e.title, format!("The parameter {parameter} is required."));
        assert_eq!(classify(&e), fail(FailReason::InvalidParameter));
    }
    let not_json = http.post(&url).bearer_auth(TOKEN).body("nope").send().await.expect("answered");
    assert_eq!(not_json.status(), StatusCode::BAD_REQUEST);
    let elsewhere = http.post(format!("{}/v23.0/{PNID}/media", fake.base_url())).send().await.expect("answered");
    assert_eq!(elsewhere.status(), StatusCode::BAD_REQUEST);
    assert_eq!(fake.sent().len(), 5);
    assert_eq!(fake.read_marks().len(), 1);
}

#[tokio::test]
async fn connection_refused_and_timeouts_are_transient() {
    // a port nothing listens on
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = closed.local_addr().expect("addr");
    drop(closed);
    let client = client_for(&format!("http://{addr}"));
    let e = client.send(PNID, &token(), &text("hi")).await.expect_err("refused");
    assert_eq!((e.http_status, e.transport), (0, Some(TransportFailure::Connect)), "{e}");
    assert_eq!(classify(&e), retry(None));
    assert_eq!(DeliveryError::from(&e).code, None);

    // a server that accepts and never answers
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = silent.local_addr().expect("addr");
    let hold = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            open.push(socket);
        }
    });
    let impatient = GraphClient::new(&format!("http://{addr}"), "v23.0", Duration::from_millis(200)).expect("client");
    let e = impatient.mark_read(PNID, &token(), "wamid.IN", false).await.expect_err("timed out");
    assert_eq!(e.transport, Some(TransportFailure::Timeout), "{e}");
    assert_eq!(classify(&e), retry(None));
    hold.abort();
}

#[tokio::test]
async fn mark_read_with_and_without_typing_indicator() {
    let (fake, client) = start(config()).await;
    client.mark_read(PNID, &token(), "wamid.IN1", true).await.expect("read");
    client.mark_read(PNID, &token(), "wamid.IN2", false).await.expect("read");
    fake.fail_next(1, 400, 100, "Invalid parameter");
    let e = client.mark_read(PNID, &token(), "wamid.IN3", false).await.expect_err("injected");
    assert_eq!(classify(&e), fail(FailReason::InvalidParameter));

    let reads = fake.read_marks();
    assert_eq!(reads.len(), 3);
    assert_eq!(
        reads[0].body,
        json!({"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.IN1", "typing_indicator": {"type": "text"}})
    );
    assert!(reads[0].typing_indicator && !reads[1].typing_indicator);
    assert_eq!(reads[1].message_id.as_deref(), Some("wamid.IN2"));
    assert_eq!(reads.iter().map(|r| r.http_status).collect::<Vec<_>>(), [200, 200, 400]);
    assert_eq!(reads[0].token.as_deref(), Some(TOKEN));
    assert!(fake.sent().is_empty(), "read marks are not sends");
}

/// A tiny webhook receiver: checks each signature against the raw bytes, parses the body with
/// confab's own parser, and keeps the statuses.
struct Receiver {
    url: String,
    statuses: Arc<Mutex<Vec<StatusUpdate>>>,
    refused: Arc<Mutex<usize>>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    async fn start() -> Self {
        let statuses = Arc::new(Mutex::new(Vec::new()));
        let refused = Arc::new(Mutex::new(0));
        let (keep, bad) = (Arc::clone(&statuses), Arc::clone(&refused));
        let app = Router::new().route(
            "/webhooks/whatsapp",
            post(move |headers: HeaderMap, body: Bytes| {
                let (keep, bad) = (Arc::clone(&keep), Arc::clone(&bad));
                async move {
                    let signature = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
                    if verify_signature(APP_SECRET.as_bytes(), &body, signature).is_err() {
                        *bad.lock().expect("lock") += 1;
                        return StatusCode::UNAUTHORIZED;
                    }
                    let batch = parse_webhook(&body).expect("a webhook body");
                    assert!(batch.unparsed.is_empty(), "{:?}", batch.unparsed);
                    keep.lock().expect("lock").extend(batch.statuses);
                    StatusCode::OK
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/webhooks/whatsapp", listener.local_addr().expect("addr"));
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("serves");
        });
        Self { url, statuses, refused, task }
    }

    fn statuses(&self) -> Vec<(String, String)> {
        self.statuses.lock().expect("lock").iter().map(|s| (s.wamid.clone(), s.raw_status.clone())).collect()
    }

    fn final_status(&self, wamid: &str) -> DeliveryStatus {
        self.statuses
            .lock()
            .expect("lock")
            .iter()
            .filter(|s| s.wamid == wamid)
            .filter_map(|s| s.status)
            .fold(DeliveryStatus::Queued, DeliveryStatus::advance_to)
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn pairs(wamid: &str, words: &[&str]) -> Vec<(String, String)> {
    words.iter().map(|w| (wamid.to_owned(), (*w).to_owned())).collect()
}

#[tokio::test]
async fn accepted_sends_are_followed_by_signed_status_webhooks_in_order() {
    let receiver = Receiver::start().await;
    let (fake, client) = start(config().with_status_webhook(StatusWebhook::new(&receiver.url, APP_SECRET))).await;
    let first = client.send(PNID, &token(), &text("one")).await.expect("sent").wamid;
    let second = client.send(PNID, &token(), &text("two")).await.expect("sent").wamid;
    fake.fail_next(1, 400, 131047, "Re-engagement message");
    assert!(client.send(PNID, &token(), &text("refused")).await.is_err(), "no statuses for refused sends");

    let posts = fake.wait_for_status_posts(6).await.expect("six posts");
    assert!(posts.iter().all(|p| p.http_status == Some(200)), "{posts:?}");
    let mut expected = pairs(&first, &["sent", "delivered", "read"]);
    expected.extend(pairs(&second, &["sent", "delivered", "read"]));
    assert_eq!(receiver.statuses(), expected);
    assert_eq!(*receiver.refused.lock().expect("lock"), 0);

    let statuses = receiver.statuses.lock().expect("lock").clone();
    let s = &statuses[0];
    assert_eq!((s.phone_number_id.as_str(), s.display_phone_number.as_deref()), (PNID, Some(DISPLAY)));
    assert_eq!(s.recipient_id.as_deref(), Some(CUSTOMER));
    assert!(statuses[0].timestamp < statuses[1].timestamp && statuses[1].timestamp < statuses[2].timestamp);
    assert_eq!(s.pricing_category(), Some("service"));
    assert_eq!(receiver.final_status(&first), DeliveryStatus::Read);
}

#[tokio::test]
async fn duplicated_and_reversed_statuses_still_end_read() {
    let receiver = Receiver::start().await;
    let webhook = StatusWebhook::new(&receiver.url, APP_SECRET).duplicated().reversed();
    let (fake, client) = start(config().with_status_webhook(webhook)).await;
    let wamid = client.send(PNID, &token(), &text("hi")).await.expect("sent").wamid;
    fake.wait_for_status_posts(6).await.expect("six posts");
    assert_eq!(receiver.statuses(), pairs(&wamid, &["read", "read", "delivered", "delivered", "sent", "sent"]));
    assert_eq!(receiver.final_status(&wamid), DeliveryStatus::Read);
}

#[tokio::test]
async fn duplicated_statuses_in_order() {
    let receiver = Receiver::start().await;
    let (fake, client) =
        start(config().with_status_webhook(StatusWebhook::new(&receiver.url, APP_SECRET).duplicated())).await;
    let wamid = client.send(PNID, &token(), &text("hi")).await.expect("sent").wamid;
    fake.wait_for_status_posts(6).await.expect("six posts");
    assert_eq!(receiver.statuses(), pairs(&wamid, &["sent", "sent", "delivered", "delivered", "read", "read"]));
}

#[tokio::test]
async fn reactions_only_get_sent_and_async_failures_get_failed() {
    let receiver = Receiver::start().await;
    let (fake, client) = start(config().with_status_webhook(StatusWebhook::new(&receiver.url, APP_SECRET))).await;
    let reaction =
        OutboundMessage::Reaction { to: CUSTOMER.into(), message_id: "wamid.IN".into(), emoji: "👍".into() };
    let reacted = client.send(PNID, &token(), &reaction).await.expect("sent").wamid;
    fake.fail_next_async(1, 131026, "Message undeliverable");
    let undeliverable = client.send(PNID, &token(), &text("hi")).await.expect("accepted first").wamid;
    fake.wait_for_status_posts(2).await.expect("two posts");
    assert_eq!(receiver.statuses(), [pairs(&reacted, &["sent"]), pairs(&undeliverable, &["failed"])].concat());
    let failed = receiver.statuses.lock().expect("lock")[1].clone();
    assert_eq!(failed.status, Some(DeliveryStatus::Failed));
    let error = failed.error().expect("an error");
    assert_eq!((error.code, error.title.as_str()), (Some(131026), "Message undeliverable"));
}

#[tokio::test]
async fn a_wrong_app_secret_is_caught_by_the_receiver() {
    let receiver = Receiver::start().await;
    let (fake, client) = start(config().with_status_webhook(StatusWebhook::new(&receiver.url, "other-secret"))).await;
    client.send(PNID, &token(), &text("hi")).await.expect("sent");
    let posts = fake.wait_for_status_posts(3).await.expect("three posts");
    assert!(posts.iter().all(|p| p.http_status == Some(401)), "{posts:?}");
    assert_eq!(*receiver.refused.lock().expect("lock"), 3);
    assert!(receiver.statuses().is_empty());
}

#[tokio::test]
async fn waiting_for_posts_that_never_come_times_out() {
    let mut config = config().with_status_webhook(StatusWebhook::new("http://127.0.0.1:9/none", APP_SECRET));
    config.wait_timeout = Some(Duration::from_millis(100));
    let (fake, _client) = start(config).await;
    let e = fake.wait_for_status_posts(1).await.expect_err("nothing was sent");
    assert_eq!((e.wanted, e.done), (1, 0));
}

#[tokio::test]
async fn a_stopped_fake_refuses_connections() {
    let (fake, client) = start(config()).await;
    client.send(PNID, &token(), &text("before")).await.expect("sent");
    fake.stop().await;
    let e = client.send(PNID, &token(), &text("after")).await.expect_err("stopped");
    assert!(e.transport.is_some(), "{e}");
    assert_eq!(classify(&e), retry(None));
}
