//! No provider configured → the offline responder answers from a knowledge base: a question a
//! passage covers gets that passage (and the conversation stays with the assistant); one it
//! does not gets the fallback message and a hand-over. Both say no LLM is configured.

#![allow(clippy::unwrap_used)]

mod support;

use confab_domain::*;
use confab_engine::chunking::chunk_document;
use confab_engine::clock::ManualClock;
use confab_engine::offline_responder::{OfflineResponder, NO_LLM_KNOWLEDGE_NOTE, NO_LLM_NOTE};
use confab_engine::retriever::FullTextRetriever;
use confab_engine::turn_worker::{StepOutcome, TurnPolicy, TurnWorker};
use confab_storage::*;
use std::sync::Arc;
use support::Fixture;
use time::{Duration, OffsetDateTime};
use tokio::sync::Notify;

const GUIDE: &str = "# Store guide\n\n## Opening hours\nWe are open Monday to Friday from 9:00 to 18:00, and on \
Saturday from 10:00 to 14:00.\n\n## Returns\nYou can return any item within 30 days with its receipt for a full \
refund.\n";

#[tokio::test]
async fn no_provider_configured_the_offline_responder_answers_from_a_knowledge_base() {
    let fx = Fixture::new(|a| a.fallback_message = Some("Thanks! Our team replies within the hour.".into())).await;
    let kb = fx.store.create_knowledge_base(fx.ws, "FAQ").await.unwrap();
    let chunks = chunk_document(DocumentFormat::Md, GUIDE);
    let document = NewDocument {
        knowledge_base_id: kb.id,
        title: "Store guide".into(),
        format: DocumentFormat::Md,
        content: GUIDE.into(),
        chunks,
    };
    fx.store.add_document(fx.ws, document).await.unwrap();
    let changes = AssistantChanges { knowledge_base_ids: Some(vec![kb.id]), ..AssistantChanges::default() };
    fx.store.update_assistant(fx.ws, fx.assistant.id, changes).await.unwrap();

    let start = OffsetDateTime::now_utc();
    let clock = Arc::new(ManualClock::new(start));
    let responder = Arc::new(OfflineResponder::with_retriever(Arc::new(FullTextRetriever::new(fx.store.clone()))));
    let w = TurnWorker::new(
        fx.store.clone(),
        responder,
        clock.clone(),
        "w",
        TurnPolicy::default(),
        Arc::new(Notify::new()),
    );

    let conv = fx.customer_writes("+16505551234", "Are you open on Saturday?", start).await;
    assert_eq!(w.step().await.unwrap(), StepOutcome::Committed(conv));
    let messages = fx.store.list_messages(fx.ws, conv, None, 100).await.unwrap();
    let reply = messages.iter().find(|m| m.role == Role::Assistant).unwrap();
    assert!(reply.content.starts_with("We are open Monday to Friday"), "{}", reply.content);
    assert!(reply.content.ends_with("— Store guide"), "{}", reply.content);
    let note = messages.iter().find(|m| m.role == Role::System).unwrap();
    assert!(note.content.starts_with(NO_LLM_KNOWLEDGE_NOTE), "{}", note.content);
    assert!(fx.store.get_conversation(fx.ws, conv).await.unwrap().ai_enabled, "the assistant keeps the conversation");

    // a question the knowledge base does not cover: the fallback and a hand-over, as before
    fx.customer_writes("+16505551234", "Do you sell bicycles?", start + Duration::seconds(5)).await;
    clock.advance(Duration::minutes(1));
    assert_eq!(w.step().await.unwrap(), StepOutcome::Committed(conv));
    let messages = fx.store.list_messages(fx.ws, conv, None, 100).await.unwrap();
    let replies: Vec<&str> =
        messages.iter().filter(|m| m.role == Role::Assistant).map(|m| m.content.as_str()).collect();
    assert_eq!(replies.last(), Some(&"Thanks! Our team replies within the hour."));
    assert!(messages.iter().any(|m| m.role == Role::System && m.content == NO_LLM_NOTE));
    assert!(!fx.store.get_conversation(fx.ws, conv).await.unwrap().ai_enabled, "handed to a person");
}
