//! The export of 100,000 messages: streamed with flat memory (the server never holds more than
//! a page), and parsed back to exactly the stored rows. Alone in its file so the process's peak
//! memory is this test's own.

#![allow(clippy::unwrap_used)]

mod support;

use confab_domain::{ConversationType, CustomerIdentity, InboundMessage, MessageKind, ResponseDelay, Role};
use confab_storage::{ConversationFilter, NewAssistant, PageRequest};
use serde_json::Value;
use std::collections::HashSet;
use support::*;
use time::OffsetDateTime;

const CONVERSATIONS: usize = 200;
const MESSAGES_PER_CONVERSATION: usize = 500;
/// Each message's text: 100,000 of them make an export of about 80 MB.
const TEXT_BYTES: usize = 600;

/// The process's peak resident memory so far (VmHWM), in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb * 1024
}

/// Starts counting the peak anew from the current resident memory (Linux `clear_refs` 5).
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_of_100k_messages_streams_in_flat_memory_and_parses_back() {
    let app = spawn_app().await;
    let key = app.api_key(app.workspace).await;
    let assistant = app.store.create_assistant(NewAssistant::new(app.workspace, "Desk", "Help.")).await.unwrap();
    let now = OffsetDateTime::now_utc();
    for c in 0..CONVERSATIONS {
        let batch: Vec<InboundMessage> = (0..MESSAGES_PER_CONVERSATION)
            .map(|m| InboundMessage {
                workspace_id: app.workspace,
                role: Role::User,
                conversation_type: ConversationType::Api,
                assistant_id: assistant.id,
                sender_id: None,
                conversation_id: None,
                customer: CustomerIdentity::External(format!("crm-{c}")),
                customer_name: None,
                provider_message_id: Some(format!("m-{c}-{m}")),
                kind: MessageKind::Text,
                content: format!("{c:04}/{m:04}, \"quoted\" {}", "x".repeat(TEXT_BYTES)),
                payload: Value::Null,
                reply_to: None,
                forwarded: false,
                sent_at: now,
                response_delay: ResponseDelay::default(),
                wants_reply: false,
                system_note: None,
            })
            .collect();
        app.store.ingest(&batch, now).await.unwrap();
    }
    let page = app.store.list_conversations(app.workspace, &ConversationFilter::default(), PageRequest::first(1)).await;
    assert_eq!(page.unwrap().items[0].message_count, MESSAGES_PER_CONVERSATION as i64);

    let peak_measured = reset_peak_rss();
    let before = peak_rss();
    let mut res = app.get("/api/v1/conversations/export?format=jsonl&level=message", Some(&key)).await;
    assert_eq!(res.status(), 200);
    let mut ids = HashSet::new();
    let mut bytes = 0usize;
    let mut partial = Vec::new();
    while let Some(chunk) = res.chunk().await.unwrap() {
        bytes += chunk.len();
        partial.extend_from_slice(&chunk);
        let complete = partial.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        for line in partial[..complete].split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let row: Value = serde_json::from_slice(line).unwrap();
            let content = row["content"].as_str().unwrap();
            let (c, m) = content[..9].split_once('/').unwrap();
            assert_eq!(row["conversation_type"], "api");
            assert_eq!(row["role"], "user");
            assert_eq!(content, format!("{c}/{m}, \"quoted\" {}", "x".repeat(TEXT_BYTES)));
            assert!(ids.insert(row["id"].as_str().unwrap().to_string()), "a message exported twice");
        }
        partial.drain(..complete);
    }
    assert!(partial.is_empty(), "the file ends with a whole line");
    assert_eq!(ids.len(), CONVERSATIONS * MESSAGES_PER_CONVERSATION, "every message, once");
    assert!(bytes > 60_000_000, "an export of {bytes} bytes");

    let grew = peak_rss().saturating_sub(before);
    eprintln!("exported {bytes} bytes; peak resident memory grew by {} MB", grew / 1_000_000);
    if peak_measured {
        // holding the file (or half of it) would show here
        assert!(grew < 40_000_000, "peak memory grew by {grew} bytes for an export of {bytes}");
    } else {
        eprintln!("peak memory not checked: /proc/self/clear_refs is not writable here");
    }
}
