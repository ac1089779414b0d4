//! `search_knowledge_base`: the model looks up the assistant's knowledge bases (knowledge mode
//! `tool`) and reads back the best passages with their document titles and headings.

use super::{Tool, ToolContext, ToolRun};
use crate::retriever::Retriever;
use async_trait::async_trait;
use confab_assistant::ToolSpec;
use serde_json::{json, Value};
use std::sync::Arc;

pub const SEARCH_KNOWLEDGE_BASE: &str = "search_knowledge_base";

/// Passages one search returns.
pub const PASSAGES_PER_SEARCH: u32 = 4;

pub struct SearchKnowledgeBase {
    retriever: Arc<dyn Retriever>,
}

impl SearchKnowledgeBase {
    pub fn new(retriever: Arc<dyn Retriever>) -> Self {
        Self { retriever }
    }
}

#[async_trait]
impl Tool for SearchKnowledgeBase {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: SEARCH_KNOWLEDGE_BASE.into(),
            description: "Search the business's knowledge base (policies, prices, opening hours, FAQs…) before \
                          answering factual questions. Returns the best matching passages with their document titles."
                .into(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "query": { "type": "string", "description": "What to look for, in a few keywords" }
                },
                "required": ["query"],
            }),
        }
    }

    async fn call(&self, context: &ToolContext<'_>, arguments: &Value) -> ToolRun {
        let Some(query) = arguments["query"].as_str().map(str::trim).filter(|q| !q.is_empty()) else {
            return ToolRun::error("give a non-empty `query` with what to look for");
        };
        let assistant = context.assistant;
        match self
            .retriever
            .retrieve(assistant.workspace_id, &assistant.knowledge_base_ids, query, PASSAGES_PER_SEARCH)
            .await
        {
            Ok(passages) => ToolRun::ok(json!({
                "passages": passages
                    .iter()
                    .map(|p| json!({ "document": p.document_title, "heading": p.heading, "text": p.text }))
                    .collect::<Vec<_>>(),
                "note": if passages.is_empty() { "nothing in the knowledge base matches; do not guess" } else { "" },
            })),
            Err(err) => {
                tracing::warn!(error = %err, "knowledge search failed");
                ToolRun::error("the knowledge base could not be searched right now")
            }
        }
    }
}
