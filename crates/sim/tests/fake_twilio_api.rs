//! confab's Twilio `MessagesClient` against the fake Messages API: what goes over the wire,
//! what comes back, how every kind of failure is classified, and the signed status callbacks.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::routing::post;
use axum::Router;
use confab_channels::twilio::{
    classify, verify_signature, ApiErrorKind, ContentSid, ContentVariables, ErrorClass, FailReason, FormBody,
    MessagesClient, OutgoingContent, OutgoingMessage, TwilioCredentials, TwilioStatusCallback, DAILY_LIMIT_WAIT,
    SIGNATURE_HEADER,
};
use confab_domain::{DeliveryStatus, PhoneNumber, Secret};
use confab_sim::fake_twilio_api::{Failure, FakeTwilioApi, FakeTwilioConfig};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
const TOKEN: &str = "fake-auth-token";
const BUSINESS: &str = "+14155238886";
const CUSTOMER: &str = "+5511987654321";

fn credentials() -> TwilioCredentials {
    TwilioCredentials::new(ACCOUNT, Secret::new(TOKEN)).expect("valid credentials")
}

fn phone(s: &str) -> PhoneNumber {
    PhoneNumber::parse(s).expect("valid phone")
}

fn text(body: &str) -> OutgoingMessage {
    OutgoingMessage {
        from: phone(BUSINESS),
        to: phone(CUSTOMER),
        content: OutgoingContent::Text { body: body.into() },
        status_callback: None,
    }
}

async fn fake(config: FakeTwilioConfig) -> (FakeTwilioApi, MessagesClient) {
    let api = FakeTwilioApi::start(config.with_account(ACCOUNT, TOKEN)).await.expect("fake starts");
    let client = MessagesClient::new(&api.base_url(), Duration::from_secs(5)).expect("client");
    (api, client)
}

#[tokio::test]
async fn a_text_goes_out_as_twilio_expects_and_comes_back_queued() {
    let (api, client) = fake(FakeTwilioConfig::new()).await;
    let sent = client.send(&credentials(), &text("Olá! Tudo bem? 👋")).await.expect("accepted");
    assert!(sent.sid.starts_with("SM") && sent.sid.len() == 34, "{}", sent.sid);
    assert_eq!(sent.status.as_deref(), Some("queued"));
    assert_eq!(sent.account_sid.as_deref(), Some(ACCOUNT));
    assert_eq!(sent.direction.as_deref(), Some("outbound-api"));
    assert!(sent.date_created.is_some_and(|d| d.ends_with("+0000")));

    let requests = api.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.path, format!("/2010-04-01/Accounts/{ACCOUNT}/Messages.json"));
    assert!(request.authenticated);
    assert_eq!(request.field("From"), Some("whatsapp:+14155238886"));
    assert_eq!(request.field("To"), Some("whatsapp:+5511987654321"));
    assert_eq!(request.field("Body"), Some("Olá! Tudo bem? 👋"));
    assert_eq!(request.message_sid.as_deref(), Some(sent.sid.as_str()));
    assert_eq!(request.http_status, 201);
}

#[tokio::test]
async fn a_template_goes_out_with_content_sid_and_json_variables() {
    let (api, client) = fake(FakeTwilioConfig::new()).await;
    let message = OutgoingMessage {
        content: OutgoingContent::Template {
            content_sid: ContentSid::parse("HXb5b62575e6e4ff6129ad7c8efe1f983e").expect("valid"),
            variables: ContentVariables::positional(["Ana", "3pm"]),
        },
        ..text("unused")
    };
    client.send(&credentials(), &message).await.expect("accepted");
    let request = &api.sent()[0];
    assert_eq!(request.field("ContentSid"), Some("HXb5b62575e6e4ff6129ad7c8efe1f983e"));
    let variables: serde_json::Value =
        serde_json::from_str(request.field("ContentVariables").expect("sent")).expect("JSON");
    assert_eq!(variables, serde_json::json!({"1": "Ana", "2": "3pm"}));
    assert_eq!(request.field("Body"), None, "templates go without Body");
}

#[tokio::test]
async fn media_goes_out_as_repeated_media_urls() {
    let (api, client) = fake(FakeTwilioConfig::new()).await;
    let message = OutgoingMessage {
        content: OutgoingContent::Media {
            caption: Some("the menu".into()),
            media_urls: vec!["https://example.com/menu.pdf".into(), "https://example.com/map.png".into()],
        },
        ..text("unused")
    };
    let sent = client.send(&credentials(), &message).await.expect("accepted");
    assert_eq!(sent.num_media.as_deref(), Some("2"));
    let request = &api.sent()[0];
    assert_eq!(request.fields("MediaUrl"), ["https://example.com/menu.pdf", "https://example.com/map.png"]);
    assert_eq!(request.field("Body"), Some("the menu"));
}

#[tokio::test]
async fn transient_failures_are_retried_with_twilios_hint() {
    let (api, client) = fake(FakeTwilioConfig::new()).await;
    api.fail_next(Failure::too_many_requests(7));
    api.fail_next(Failure::channel_rate_limit());
    api.fail_next(Failure::server_error());
    api.fail_next(Failure::reject(429, 63038, "Account exceeded the daily messages limit"));

    let throttled = client.send(&credentials(), &text("1")).await.expect_err("429");
    assert_eq!((throttled.http_status, throttled.code), (Some(429), Some(20429)));
    assert_eq!(classify(&throttled), ErrorClass::Retry { after: Some(Duration::from_secs(7)) });
    let channel = client.send(&credentials(), &text("2")).await.expect_err("63018");
    assert_eq!(classify(&channel), ErrorClass::Retry { after: None });
    let server = client.send(&credentials(), &text("3")).await.expect_err("500");
    assert_eq!((server.http_status, classify(&server)), (Some(500), ErrorClass::Retry { after: None }));
    let daily = client.send(&credentials(), &text("4")).await.expect_err("63038");
    assert_eq!(classify(&daily), ErrorClass::Retry { after: Some(DAILY_LIMIT_WAIT) });
    // the queue is empty again
    client.send(&credentials(), &text("5")).await.expect("accepted");
    assert_eq!(api.requests().iter().map(|r| r.http_status).collect::<Vec<_>>(), [429, 429, 500, 429, 201]);
}

#[tokio::test]
async fn permanent_failures_fail_and_say_whose_fault() {
    let (api, client) = fake(FakeTwilioConfig::new()).await;
    api.fail_next(Failure::reject(
        400,
        63016,
        "Failed to send freeform message because you are outside the allowed window.",
    ));
    let window = client.send(&credentials(), &text("late")).await.expect_err("63016");
    assert_eq!(classify(&window), ErrorClass::Fail { reason: FailReason::OutsideWindow });
    assert!(window.more_info.as_deref().is_some_and(|m| m.ends_with("/63016")));

    api.fail_next(Failure::reject(
        400,
        63032,
        "We cannot send this message to this user because of a WhatsApp limitation.",
    ));
    let limitation = client.send(&credentials(), &text("x")).await.expect_err("63032");
    assert_eq!(classify(&limitation), ErrorClass::Fail { reason: FailReason::Recipient });

    // the fake's own validation, with Twilio's codes
    let bad_to = OutgoingMessage { to: phone("+15005550001"), ..text("x") };
    api.fail_next(Failure::reject(400, 21211, "The 'To' number is not a valid phone number."));
    let invalid = client.send(&credentials(), &bad_to).await.expect_err("21211");
    assert_eq!(classify(&invalid), ErrorClass::Fail { reason: FailReason::Recipient });

    let wrong = TwilioCredentials::new(ACCOUNT, Secret::new("not-the-token")).expect("well formed");
    let auth = client.send(&wrong, &text("x")).await.expect_err("401");
    assert_eq!((auth.http_status, auth.code), (Some(401), Some(20003)));
    assert_eq!(auth.detail.as_deref(), Some("Your AccountSid or AuthToken was incorrect."));
    assert_eq!(classify(&auth), ErrorClass::Fail { reason: FailReason::SenderNeedsAttention });
    assert!(!auth.to_string().contains("not-the-token"));

    let other_account = TwilioCredentials::new("ACffffffffffffffffffffffffffffffff", Secret::new(TOKEN)).expect("ok");
    let unknown = client.send(&other_account, &text("x")).await.expect_err("401");
    assert_eq!(classify(&unknown), ErrorClass::Fail { reason: FailReason::SenderNeedsAttention });

    // refused before any call: nothing reaches Twilio
    let before = api.requests().len();
    let too_long = client.send(&credentials(), &text(&"x".repeat(1601))).await.expect_err("refused");
    assert_eq!(too_long.kind, ApiErrorKind::Refused);
    assert_eq!(classify(&too_long), ErrorClass::Fail { reason: FailReason::Content });
    assert_eq!(api.requests().len(), before);
}

#[tokio::test]
async fn the_fake_validates_like_twilio() {
    let (api, _client) = fake(FakeTwilioConfig::new()).await;
    let http = reqwest::Client::new();
    let url = format!("{}/2010-04-01/Accounts/{ACCOUNT}/Messages.json", api.base_url());
    let post =
        |pairs: Vec<(&'static str, &'static str)>| http.post(&url).basic_auth(ACCOUNT, Some(TOKEN)).form(&pairs).send();
    type Case = (Vec<(&'static str, &'static str)>, u16, i64);
    let cases: Vec<Case> = vec![
        (vec![("From", "whatsapp:+14155238886"), ("Body", "x")], 400, 21604),
        (vec![("To", "whatsapp:+5511987654321"), ("Body", "x")], 400, 21603),
        (vec![("From", "whatsapp:+14155238886"), ("To", "+5511987654321"), ("Body", "x")], 400, 21211),
        (vec![("From", "whatsapp:+14155238886"), ("To", "whatsapp:+5511987654321")], 400, 21619),
        (vec![("From", "whatsapp:+14155238886"), ("To", "whatsapp:+5511987654321"), ("ContentSid", "HX1")], 400, 21655),
        (
            vec![
                ("From", "whatsapp:+14155238886"),
                ("To", "whatsapp:+5511987654321"),
                ("ContentSid", "HXb5b62575e6e4ff6129ad7c8efe1f983e"),
                ("ContentVariables", "{\"1\": 2}"),
            ],
            400,
            21656,
        ),
    ];
    for (pairs, status, code) in cases {
        let response = post(pairs.clone()).await.expect("answered");
        assert_eq!(response.status().as_u16(), status, "{pairs:?}");
        let body: serde_json::Value = response.json().await.expect("Twilio error JSON");
        assert_eq!(body["code"], code, "{pairs:?}");
        assert_eq!(body["status"], status);
        assert_eq!(body["more_info"], format!("https://www.twilio.com/docs/errors/{code}"));
    }
    let missing = http
        .get(format!("{}/2010-04-01/Accounts/{ACCOUNT}/Calls.json", api.base_url()))
        .send()
        .await
        .expect("answered");
    assert_eq!(missing.status().as_u16(), 404);
    assert!(api.sent().is_empty());
}

#[tokio::test]
async fn a_dead_api_is_a_transport_failure_to_retry() {
    // a port nobody listens on: bind one, then close it
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let client = MessagesClient::new(&format!("http://127.0.0.1:{port}"), Duration::from_secs(2)).expect("client");
    let error = client.send(&credentials(), &text("hello")).await.expect_err("no server");
    assert!(matches!(error.kind, ApiErrorKind::Transport(_)), "{error:?}");
    assert_eq!(classify(&error), ErrorClass::Retry { after: None });
}

/// One post the receiver got: the URI, the signature header and the body.
type Post = (String, Option<String>, Vec<u8>);

/// A stand-in for confab's status webhook: records what it is sent.
#[derive(Clone, Default)]
struct Receiver {
    posts: Arc<Mutex<Vec<Post>>>,
}

async fn receive(State(receiver): State<Receiver>, uri: Uri, headers: HeaderMap, body: Bytes) -> StatusCode {
    let signature = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
    receiver.posts.lock().expect("lock").push((uri.to_string(), signature, body.to_vec()));
    StatusCode::OK
}

async fn start_receiver() -> (String, Receiver) {
    let receiver = Receiver::default();
    let app = Router::new().route("/webhooks/twilio/status", post(receive)).with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let origin = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (origin, receiver)
}

fn statuses(receiver: &Receiver, signed_url: &str) -> Vec<TwilioStatusCallback> {
    let posts = receiver.posts.lock().expect("lock").clone();
    posts
        .iter()
        .map(|(_, signature, body)| {
            let form = FormBody::parse(body);
            assert_eq!(verify_signature(TOKEN, signed_url, form.pairs(), signature.as_deref()), Ok(()));
            TwilioStatusCallback::parse(&form).expect("a status callback")
        })
        .collect()
}

#[tokio::test]
async fn accepted_sends_are_followed_by_signed_status_callbacks_in_order() {
    let (origin, receiver) = start_receiver().await;
    let (api, client) = fake(FakeTwilioConfig::new()).await;
    let callback_url = format!("{origin}/webhooks/twilio/status");
    let message = OutgoingMessage { status_callback: Some(callback_url.clone()), ..text("hi") };
    let sent = client.send(&credentials(), &message).await.expect("accepted");
    let posted = api.wait_for_callbacks().await;
    assert_eq!(posted.iter().map(|c| c.status.as_str()).collect::<Vec<_>>(), ["queued", "sent", "delivered", "read"]);
    assert!(posted.iter().all(|c| c.http_status == Some(200) && c.message_sid == sent.sid));
    let received = statuses(&receiver, &callback_url);
    assert_eq!(
        received.iter().map(|s| s.status).collect::<Vec<_>>(),
        [
            Some(DeliveryStatus::Queued),
            Some(DeliveryStatus::Sent),
            Some(DeliveryStatus::Delivered),
            Some(DeliveryStatus::Read)
        ]
    );
    assert!(received.iter().all(|s| s.message_sid == sent.sid && s.from.as_str() == BUSINESS));

    // a late duplicate, by hand
    assert_eq!(api.post_status(&sent.sid, "delivered", None).await, Some(200));
    assert_eq!(statuses(&receiver, &callback_url).len(), 5);
}

#[tokio::test]
async fn failures_reported_later_arrive_as_undelivered_with_the_code() {
    let (origin, receiver) = start_receiver().await;
    // the public URL Twilio signs is not where the request lands (a proxy in between)
    let public = "https://confab.example.com/webhooks/twilio/status";
    let (api, client) =
        fake(FakeTwilioConfig::new().with_default_status_callback(public).delivering_callbacks_to(&origin)).await;
    api.fail_next(Failure::outside_window());
    let sent = client.send(&credentials(), &text("after 24h")).await.expect("accepted, then failed");
    assert_eq!(sent.status.as_deref(), Some("queued"));
    let posted = api.wait_for_callbacks().await;
    assert_eq!(posted.iter().map(|c| c.status.as_str()).collect::<Vec<_>>(), ["queued", "undelivered"]);
    assert!(posted.iter().all(|c| c.url == public));
    let received = statuses(&receiver, public);
    let last = received.last().expect("two callbacks");
    assert_eq!(last.status, Some(DeliveryStatus::Failed));
    assert_eq!(last.raw_status, "undelivered");
    assert_eq!(last.error.as_ref().and_then(|e| e.code), Some(63016));
}

#[tokio::test]
async fn no_callback_url_means_no_callbacks() {
    let (api, client) = fake(FakeTwilioConfig::new()).await;
    let sent = client.send(&credentials(), &text("quiet")).await.expect("accepted");
    assert!(api.wait_for_callbacks().await.is_empty());
    assert_eq!(api.post_status(&sent.sid, "read", None).await, None);
    let (api_off, client_off) = fake(FakeTwilioConfig::new().without_status_callbacks()).await;
    let asked = OutgoingMessage { status_callback: Some("http://127.0.0.1:9/x".into()), ..text("x") };
    client_off.send(&credentials(), &asked).await.expect("accepted");
    assert!(api_off.wait_for_callbacks().await.is_empty());
}
