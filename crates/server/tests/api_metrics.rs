//! `GET /api/v1/metrics`: a small known workload (signed webhooks in, turns by a worker with
//! a scripted responder and a clock held by hand) and the numbers the API reports for it,
//! on every configured backend; plus authentication and parameter errors.

#![allow(clippy::unwrap_used)]

mod support;

use async_trait::async_trait;
use confab_domain::{MicroUsd, Role};
use confab_engine::clock::ManualClock;
use confab_engine::responder::{Responder, TurnInput, TurnOutcome};
use confab_engine::turn_worker::{StepOutcome, TurnPolicy, TurnWorker};
use confab_sim::meta_webhook::{messages_payload, text_message, BusinessNumber, Customer};
use confab_storage::{NewMessage, PageRequest};
use serde_json::Value;
use std::sync::Arc;
use support::*;
use time::{Duration, OffsetDateTime};

const PHONE_NUMBER_ID: &str = "106540352242922";

/// Answers every turn with one reply costing 250 micro-USD from a 400 ms model call.
struct Scripted;

#[async_trait]
impl Responder for Scripted {
    async fn respond(&self, _: TurnInput<'_>) -> TurnOutcome {
        let mut reply = NewMessage::text(Role::Assistant, "On it.");
        reply.cost = MicroUsd(250);
        reply.payload = serde_json::json!({ "model": "scripted", "llm_latency_ms": 400 });
        TurnOutcome { messages: vec![reply], ..Default::default() }
    }
}

async fn customer_writes(app: &TestApp, wa_id: &str, text: &str) {
    let number = BusinessNumber { phone_number_id: PHONE_NUMBER_ID.into(), display_phone_number: "15550783881".into() };
    let customer = Customer { wa_id: wa_id.into(), name: "Ana".into() };
    let wamid = format!("wamid.{wa_id}.{}", uuid::Uuid::now_v7());
    let payload = messages_payload(
        &number,
        &[&customer],
        vec![text_message(&customer, &wamid, text, OffsetDateTime::now_utc())],
        vec![],
    );
    assert_eq!(app.post_signed(&payload).await.status(), 200);
}

async fn metrics(app: &TestApp, key: &str, query: &str) -> Value {
    let res = app.get(&format!("/api/v1/metrics{query}"), Some(key)).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

#[tokio::test]
async fn metrics_report_a_known_workload() {
    for backend in backends() {
        let app = spawn_app_on(backend).await;
        let key = app.api_key(app.workspace).await;
        let sender = app.meta_sender(PHONE_NUMBER_ID).await;
        customer_writes(&app, "16505550001", "hi").await;
        customer_writes(&app, "16505550002", "one").await;
        customer_writes(&app, "16505550002", "two").await;

        // both turns commit 3 s after the webhooks, by the worker's clock
        let committed_at = OffsetDateTime::now_utc() + Duration::seconds(3);
        let clock = Arc::new(ManualClock::new(committed_at));
        let worker = TurnWorker::new(
            app.store.clone(),
            Arc::new(Scripted),
            clock,
            "w",
            TurnPolicy::default(),
            Arc::new(tokio::sync::Notify::new()),
        );
        for _ in 0..2 {
            assert!(matches!(worker.step().await.unwrap(), StepOutcome::Committed(_)));
        }
        assert_eq!(worker.step().await.unwrap(), StepOutcome::Idle);

        // expected response times: commit time minus the oldest customer message of each turn
        let conversations =
            app.store.list_conversations(app.workspace, &Default::default(), PageRequest::first(10)).await.unwrap();
        let mut response_times = Vec::new();
        for conversation in &conversations.items {
            let messages = app.store.list_messages(app.workspace, conversation.id, None, 10).await.unwrap();
            let oldest = messages.iter().filter(|m| m.role == Role::User).map(|m| m.created_at).min().unwrap();
            response_times.push(i64::try_from((committed_at - oldest).whole_milliseconds()).unwrap());
        }
        response_times.sort_unstable();

        let today = OffsetDateTime::now_utc().date();
        let range =
            format!("?from={}&to={}", today.previous_day().unwrap(), today.next_day().unwrap().next_day().unwrap());
        let m = metrics(&app, &key, &range).await;
        assert_eq!(m["total_conversations"], 2);
        assert_eq!(m["active_conversations"], 2);
        assert_eq!(m["total_messages"], 5);
        assert_eq!(m["customer_messages"], 3);
        assert_eq!(m["answered_customer_messages"], 3);
        assert_eq!(m["messages_per_conversation"], 2.5);
        assert_eq!(m["response_rate"], 1.0);
        assert_eq!(m["response_time_ms"]["count"], 2);
        let average = (response_times[0] + response_times[1]) as f64 / 2.0;
        assert_eq!(m["response_time_ms"]["average"].as_f64().unwrap(), average);
        // the p90 comes from the rollup's histogram: the time to two significant digits, rounded down
        let mut step = 1;
        while response_times[1] / step >= 100 {
            step *= 10;
        }
        assert_eq!(m["response_time_ms"]["p90"], response_times[1] / step * step);
        assert!(response_times[0] >= 3_000, "{response_times:?}");
        assert_eq!(m["total_cost_micros"], 500);
        assert_eq!(m["cost_per_conversation_micros"], 250);
        assert_eq!(m["avg_llm_latency_ms"], 400.0);
        assert_eq!((m["llm_failures"].as_i64(), m["timeouts"].as_i64()), (Some(0), Some(0)));
        assert_eq!(m["failed_deliveries"], 0);
        let daily = m["daily"].as_array().unwrap();
        assert_eq!(daily.len(), 3, "every day of the range");
        assert_eq!(daily.iter().map(|d| d["conversations"].as_i64().unwrap()).sum::<i64>(), 2);
        assert_eq!(daily.iter().map(|d| d["cost_micros"].as_i64().unwrap()).sum::<i64>(), 500);

        // filters
        let api = metrics(&app, &key, &format!("{range}&type=api")).await;
        assert_eq!((api["total_conversations"].as_i64(), api["total_messages"].as_i64()), (Some(0), Some(0)));
        assert_eq!(api["response_rate"], Value::Null);
        let mine = metrics(&app, &key, &format!("{range}&type=whatsapp&assistant_id={}", sender.assistant_id)).await;
        assert_eq!(mine["total_messages"], 5);
        let other = metrics(&app, &key, &format!("{range}&assistant_id={}", uuid::Uuid::now_v7())).await;
        assert_eq!(other["total_messages"], 0);

        // the default range (the last 30 days up to now) holds both conversations
        let recent = metrics(&app, &key, "").await;
        assert_eq!(recent["total_conversations"], 2);
        assert!(recent["daily"].as_array().unwrap().len() >= 30);
    }
}

#[tokio::test]
async fn metrics_need_a_key_and_valid_parameters() {
    let app = spawn_app().await;
    assert_eq!(app.get("/api/v1/metrics", None).await.status(), 401);
    let key = app.api_key(app.workspace).await;
    let bad = app.get("/api/v1/metrics?type=fax&assistant_id=nope&from=yesterday", Some(&key)).await;
    assert_eq!(bad.status(), 422);
    let body: Value = bad.json().await.unwrap();
    assert_eq!(body["error"], "validation_failed");
    for field in ["type", "assistant_id", "from"] {
        assert!(body["fields"].get(field).is_some(), "{field} named in {body}");
    }
    let backwards = app.get("/api/v1/metrics?from=2026-03-02&to=2026-03-01", Some(&key)).await;
    assert_eq!(backwards.status(), 422);
    let ok = app.get("/api/v1/metrics?from=2026-03-01T00:00:00Z&to=2026-03-02", Some(&key)).await;
    assert_eq!(ok.status(), 200);
    let body: Value = ok.json().await.unwrap();
    assert_eq!(body["from"], "2026-03-01T00:00:00Z");
    assert_eq!(body["daily"].as_array().unwrap().len(), 1);
}
