//! The responder when no LLM provider is configured. When the assistant has knowledge bases
//! and one passage covers the customer's question well enough ([`MIN_MATCH_QUALITY`]), it
//! answers with that passage (trimmed, with its document's title) and keeps the conversation;
//! otherwise it answers once with the assistant's fallback message (or a plain "a person will
//! reply" line) and hands the conversation to a person. Either way a system note says that no
//! LLM is configured — deliberate, never a silent gap.

use crate::responder::{Responder, TurnInput, TurnOutcome};
use crate::retriever::{match_quality, Retriever};
use async_trait::async_trait;
use confab_domain::{Passage, Role};
use confab_storage::NewMessage;
use std::sync::Arc;

pub const DEFAULT_HANDOVER_REPLY: &str = "Thanks for your message! A member of our team will reply here shortly.";

pub const NO_LLM_NOTE: &str =
    "No LLM provider is configured, so the assistant handed this conversation to a person. Set CONFAB_LLM_PROVIDER to let it answer.";

/// How the system note of an answer from the knowledge base starts.
pub const NO_LLM_KNOWLEDGE_NOTE: &str =
    "No LLM provider is configured, so the assistant answered with a passage from its knowledge base";

/// The share of the question's search terms a passage must contain to be sent as the answer.
pub const MIN_MATCH_QUALITY: f64 = 0.5;
/// The longest passage sent, in characters (cut at a sentence end or space before it).
pub const MAX_ANSWER_CHARS: usize = 700;
/// Passages considered per question.
const CANDIDATES: u32 = 3;

#[derive(Default)]
pub struct OfflineResponder {
    retriever: Option<Arc<dyn Retriever>>,
}

impl OfflineResponder {
    /// Always hands over with the fallback message.
    pub fn new() -> Self {
        Self::default()
    }

    /// Answers from the assistant's knowledge bases when it can.
    pub fn with_retriever(retriever: Arc<dyn Retriever>) -> Self {
        Self { retriever: Some(retriever) }
    }

    /// The passage that answers the pending messages, if one is good enough.
    async fn best_passage(&self, input: &TurnInput<'_>) -> Option<Passage> {
        let retriever = self.retriever.as_ref()?;
        let assistant = input.assistant;
        if assistant.knowledge_base_ids.is_empty() {
            return None;
        }
        let question = input.pending.iter().map(|m| m.content.as_str()).collect::<Vec<_>>().join("\n");
        let found = retriever
            .retrieve(assistant.workspace_id, &assistant.knowledge_base_ids, &question, CANDIDATES)
            .await
            .map_err(|err| tracing::warn!(error = %err, "knowledge search failed; handing over"))
            .ok()?;
        // the first of the best covered, so the index's ranking breaks ties
        let mut best: Option<(f64, Passage)> = None;
        for passage in found {
            let quality = match_quality(&question, &passage);
            if best.as_ref().is_none_or(|(q, _)| quality > *q) {
                best = Some((quality, passage));
            }
        }
        best.filter(|(quality, _)| *quality >= MIN_MATCH_QUALITY).map(|(_, passage)| passage)
    }
}

#[async_trait]
impl Responder for OfflineResponder {
    async fn respond(&self, input: TurnInput<'_>) -> TurnOutcome {
        if let Some(passage) = self.best_passage(&input).await {
            let note = format!("{NO_LLM_KNOWLEDGE_NOTE} (\"{}\").", passage.document_title);
            let mut reply = NewMessage::text(Role::Assistant, knowledge_answer(&passage));
            reply.payload = serde_json::json!({
                "knowledge": { "document_id": passage.document_id, "knowledge_base_id": passage.knowledge_base_id }
            });
            return TurnOutcome {
                messages: vec![reply, NewMessage::text(Role::System, note)],
                hand_over: false,
                end: false,
                variables: serde_json::Map::new(),
            };
        }
        let reply = input
            .assistant
            .fallback_message
            .clone()
            .filter(|m| !m.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_HANDOVER_REPLY.into());
        TurnOutcome {
            messages: vec![NewMessage::text(Role::Assistant, reply), NewMessage::text(Role::System, NO_LLM_NOTE)],
            hand_over: true,
            end: false,
            variables: serde_json::Map::new(),
        }
    }
}

/// The passage as a reply: its text, trimmed to [`MAX_ANSWER_CHARS`] at a sentence end or a
/// space, then the document's title.
pub fn knowledge_answer(passage: &Passage) -> String {
    let text = passage.text.trim();
    let body = match text.char_indices().nth(MAX_ANSWER_CHARS) {
        None => text.to_string(),
        Some((limit, _)) => {
            let window = &text[..limit];
            let sentence = window.rfind(['.', '!', '?']).map(|i| i + 1).filter(|end| *end > limit / 2);
            match sentence.or_else(|| window.rfind(char::is_whitespace)) {
                Some(end) if sentence.is_some() => window[..end].trim_end().to_string(),
                Some(end) => format!("{}…", window[..end].trim_end()),
                None => format!("{window}…"),
            }
        }
    };
    format!("{body}\n\n— {}", passage.document_title)
}

#[cfg(test)]
mod tests {
    use super::*;
    use confab_domain::{DocumentId, KnowledgeBaseId};

    fn passage(text: &str) -> Passage {
        Passage {
            knowledge_base_id: KnowledgeBaseId::new(),
            document_id: DocumentId::new(),
            document_title: "Store guide".into(),
            heading: String::new(),
            text: text.into(),
            score: 1.0,
        }
    }

    #[test]
    fn answers_are_trimmed_and_titled() {
        assert_eq!(knowledge_answer(&passage("  Open at nine. ")), "Open at nine.\n\n— Store guide");
        let long = "A sentence that goes on. ".repeat(50);
        let answer = knowledge_answer(&passage(&long));
        assert!(answer.chars().count() <= MAX_ANSWER_CHARS + 20, "{answer}");
        assert!(answer.starts_with("A sentence") && answer.contains("on.\n\n— Store guide"));
        let unbroken = "x".repeat(1000);
        assert!(knowledge_answer(&passage(&unbroken)).starts_with(&format!("{}…", "x".repeat(MAX_ANSWER_CHARS))));
    }
}
