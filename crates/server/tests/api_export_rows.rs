//! Every exported row says what the API says: a message's JSON line is its `GET
//! /api/v1/conversations/{id}` form plus its conversation's id and type, and its CSV row parses
//! back (commas, quotes, new lines, carriage returns, unicode) to the same values, function
//! calls and cost included. On each backend.

#![allow(clippy::unwrap_used)]

mod support;

use confab_domain::{
    ConversationType, CustomerIdentity, InboundMessage, MessageKind, MicroUsd, ResponseDelay, Role, ToolCall, Usage,
};
use confab_storage::{NewAssistant, NewMessage, TurnCommit};
use serde_json::{json, Value};
use support::*;
use time::{Duration, OffsetDateTime};

const TRICKY: [&str; 6] = [
    "plain",
    "a, b, and c",
    "she said \"hi\" and \"bye\"",
    "line one\nline two\r\nline three\rend",
    "ünïcödé — 日本語 🙂, \"quoted\"",
    "\"",
];

#[tokio::test]
async fn exported_messages_are_the_api_view_and_csv_parses_back() {
    for backend in backends() {
        check(spawn_app_on(backend).await).await;
    }
}

async fn check(app: TestApp) {
    let key = app.api_key(app.workspace).await;
    let assistant = app.store.create_assistant(NewAssistant::new(app.workspace, "Desk", "Help.")).await.unwrap();
    let now = OffsetDateTime::now_utc();
    let inbound = |i: usize, text: &str| InboundMessage {
        workspace_id: app.workspace,
        role: Role::User,
        conversation_type: ConversationType::Api,
        assistant_id: assistant.id,
        sender_id: None,
        conversation_id: None,
        customer: CustomerIdentity::External("crm, \"1\"".into()),
        customer_name: Some("Zoë, \"the\" customer".into()),
        provider_message_id: Some(format!("p,{i}\"")),
        kind: MessageKind::Text,
        content: text.into(),
        payload: json!({ "text": text, "n": i }),
        reply_to: None,
        forwarded: false,
        sent_at: now,
        response_delay: ResponseDelay::default(),
        wants_reply: i + 1 == TRICKY.len(),
        system_note: None,
    };
    for (i, text) in TRICKY.iter().enumerate() {
        app.store.ingest(&[inbound(i, text)], now + Duration::milliseconds(i as i64)).await.unwrap();
    }
    // a turn with a function call and a priced reply
    let lease = app.store.claim_due("t", now + Duration::seconds(1), Duration::seconds(30)).await.unwrap().unwrap();
    let call = NewMessage {
        tool_call: Some(ToolCall {
            call_id: "call-1".into(),
            name: "collect_data".into(),
            arguments: json!({ "name": "Zoë, \"Z\"", "note": "a\nb" }),
            result: Some(json!({ "ok": true })),
            error: None,
            duration_ms: 12,
        }),
        ..NewMessage::text(Role::Tool, "collected, \"ok\"")
    };
    let reply = NewMessage {
        cost: MicroUsd(1234),
        usage: Some(Usage { input_tokens: 100, output_tokens: 20, cached_input_tokens: 5 }),
        ..NewMessage::text(Role::Assistant, "Thanks,\n\"Zoë\" 🙂")
    };
    let turn = TurnCommit { messages: vec![call, reply], ..TurnCommit::nothing(lease.answered_seq + 1) };
    app.store.commit_turn(&lease, turn, now + Duration::seconds(2)).await.unwrap();

    let id = lease.conversation_id.to_string();
    let detail: Value = app.get(&format!("/api/v1/conversations/{id}"), Some(&key)).await.json().await.unwrap();
    let messages = detail["messages"].as_array().unwrap();
    assert_eq!(messages.len(), TRICKY.len() + 2);

    // JSON lines: the detail's messages, with the conversation's id and type
    let jsonl = app.get("/api/v1/conversations/export?format=jsonl&level=message", Some(&key)).await.text().await;
    let lines: Vec<Value> = jsonl.unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let expected: Vec<Value> = messages
        .iter()
        .map(|m| {
            let mut m = m.clone();
            m["conversation_id"] = json!(id);
            m["conversation_type"] = json!("api");
            m
        })
        .collect();
    assert_eq!(lines, expected);
    assert_eq!(lines[TRICKY.len()]["function_calls"][0]["name"], "collect_data");

    // CSV: every field parses back to the same values
    let csv_text = app.get("/api/v1/conversations/export?format=csv&level=message", Some(&key)).await.text().await;
    let csv_text = csv_text.unwrap();
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), messages.len());
    let text = |v: &Value| match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    for (row, m) in rows.iter().zip(messages) {
        let field = |name: &str| row[header.iter().position(|h| h == name).unwrap()].to_string();
        assert_eq!(field("conversation_id"), id);
        assert_eq!(field("conversation_type"), "api");
        for (column, key) in [
            ("message_id", "id"),
            ("role", "role"),
            ("type", "type"),
            ("content", "content"),
            ("created_at", "created_at"),
            ("status", "status"),
            ("provider_message_id", "provider_message_id"),
            ("cost_micros", "cost_micros"),
        ] {
            assert_eq!(field(column), text(&m[key]), "{column}");
        }
        assert_eq!(field("input_tokens"), text(&m["usage"]["input_tokens"]));
        assert_eq!(field("output_tokens"), text(&m["usage"]["output_tokens"]));
        assert_eq!(field("error_code"), text(&m["error"]["code"]));
        assert_eq!(field("error_title"), text(&m["error"]["title"]));
        let calls = field("function_calls");
        if m["function_calls"].as_array().unwrap().is_empty() {
            assert_eq!(calls, "");
        } else {
            assert_eq!(serde_json::from_str::<Value>(&calls).unwrap(), m["function_calls"]);
        }
    }
    let contents: Vec<String> = rows.iter().take(TRICKY.len()).map(|r| r[5].to_string()).collect();
    assert_eq!(contents, TRICKY, "byte for byte");

    // the conversation's row
    let csv_text = app.get("/api/v1/conversations/export?format=csv", Some(&key)).await.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1);
    let field = |name: &str| rows[0][header.iter().position(|h| h == name).unwrap()].to_string();
    assert_eq!(field("id"), id);
    assert_eq!(field("customer_name"), "Zoë, \"the\" customer");
    assert_eq!(field("customer_identifier"), "crm, \"1\"");
    assert_eq!(field("customer_phone"), "");
    assert_eq!(field("sender_id"), "");
    assert_eq!(field("ended_at"), "");
    assert_eq!(field("message_count"), text(&detail["message_count"]));
    assert_eq!(field("total_cost_micros"), text(&detail["total_cost_micros"]));
    assert_eq!(serde_json::from_str::<Value>(&field("variables")).unwrap(), detail["variables"]);
}
