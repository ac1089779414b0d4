#![allow(clippy::unwrap_used)]
//! `confab bench seed`: what it writes is consistent — every conversation's counters agree
//! with its messages, the list and the metrics give the same totals, the filters find the
//! seeded customers — on SQLite and PostgreSQL; and a database with conversations is refused.

mod support;

use confab_domain::{ConversationStatus, ConversationType, DeliveryStatus, Role};
use confab_server::commands::bench::seed::{seed, SeedArgs};
use confab_storage::{ConversationFilter, MetricsFilter, PageRequest};
use std::collections::{HashMap, HashSet};
use support::*;
use time::{Duration, OffsetDateTime};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeded_history_is_consistent_on_every_backend() {
    for backend in backends() {
        let app = spawn_app_on(backend).await;
        let args = SeedArgs { conversations: 300, messages_per: 6, batch: Some(70), json: None };
        let report = seed(app.store.clone(), app.workspace, &args, false).await.unwrap();
        assert_eq!((report.conversations, report.messages), (300, 1_800), "{}", report.backend);
        assert!(report.customers > 100 && report.customers < 300, "some customers come back: {}", report.customers);

        let mut conversations = Vec::new();
        let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
        loop {
            let got = app.store.list_conversations(app.workspace, &ConversationFilter::default(), page).await.unwrap();
            conversations.extend(got.items);
            match got.next {
                Some(next) => page.after = Some(next),
                None => break,
            }
        }
        assert_eq!(conversations.len(), 300);
        let kinds: HashSet<_> = conversations.iter().map(|c| c.kind).collect();
        assert!(kinds.contains(&ConversationType::Whatsapp) && kinds.len() >= 3, "several types: {kinds:?}");
        let (mut failed, mut tools, mut cost, mut customer_messages) = (0, 0, 0, 0);
        let mut active_per_number = HashMap::new();
        for c in &conversations {
            let messages = app.store.list_messages(app.workspace, c.id, None, 1000).await.unwrap();
            assert_eq!(c.message_count, messages.len() as i64);
            assert_eq!(c.customer_message_count, messages.iter().filter(|m| m.role == Role::User).count() as i64);
            assert_eq!(c.total_cost.0, messages.iter().map(|m| m.cost.0).sum::<i64>());
            let tokens: u64 = messages.iter().filter_map(|m| m.usage).map(|u| u.input_tokens + u.output_tokens).sum();
            assert_eq!(c.total_tokens, tokens as i64);
            assert_eq!(Some(c.last_message_at), messages.iter().map(|m| m.created_at).max());
            assert_eq!(messages[0].role, Role::User, "the customer writes first");
            assert!(c.created_at >= OffsetDateTime::now_utc() - Duration::days(91));
            assert!(c.last_message_at <= OffsetDateTime::now_utc());
            failed += messages.iter().filter(|m| m.status == DeliveryStatus::Failed).count() as i64;
            assert!(messages.iter().filter(|m| m.status == DeliveryStatus::Failed).all(|m| m.error.is_some()));
            tools += messages.iter().filter(|m| m.role == Role::Tool && m.tool_call.is_some()).count();
            cost += c.total_cost.0;
            customer_messages += c.customer_message_count;
            if c.status == ConversationStatus::Active {
                if let Some(sender) = c.sender_id {
                    assert!(active_per_number.insert((sender, c.customer_id), c.id).is_none());
                }
            }
            if c.kind == ConversationType::Whatsapp {
                assert!(messages.iter().all(|m| m.role == Role::Tool || m.provider_message_id.is_some()));
            }
        }
        assert!(tools > 0, "some turns call tools");

        let now = OffsetDateTime::now_utc();
        let metrics = app
            .store
            .metrics(
                app.workspace,
                &MetricsFilter { from: now - Duration::days(91), to: now, kind: None, assistant_id: None },
            )
            .await
            .unwrap();
        assert_eq!((metrics.conversations, metrics.messages), (300, 1_800));
        assert_eq!(metrics.total_cost_micros, cost);
        assert_eq!(metrics.customer_messages, customer_messages);
        assert_eq!(metrics.failed_deliveries, failed);
        assert!(metrics.responses_timed > 0 && metrics.avg_llm_latency_ms.is_some());

        // the API's filters find what was seeded
        let key = app.api_key(app.workspace).await;
        let customers = app
            .store
            .customers_by_ids(app.workspace, &conversations.iter().map(|c| c.customer_id).collect::<Vec<_>>())
            .await
            .unwrap();
        let with_phone = customers.iter().find(|c| c.phone.is_some()).unwrap();
        let phone = with_phone.phone.as_ref().unwrap().as_str();
        let res = app.get(&format!("/api/v1/conversations?customer=%2B{}", &phone[1..]), Some(&key)).await;
        assert_eq!(res.status(), 200);
        let body: serde_json::Value = res.json().await.unwrap();
        let expected = conversations.iter().filter(|c| c.customer_id == with_phone.id).count();
        assert_eq!(body["items"].as_array().unwrap().len(), expected);
        let res = app.get("/api/v1/conversations?type=widget&limit=100", Some(&key)).await;
        let body: serde_json::Value = res.json().await.unwrap();
        let widgets = conversations.iter().filter(|c| c.kind == ConversationType::Widget).count();
        assert_eq!(body["items"].as_array().unwrap().len(), widgets.min(100));

        let again = seed(app.store.clone(), app.workspace, &args, false).await;
        assert!(again.unwrap_err().to_string().contains("already has conversations"));
    }
}
