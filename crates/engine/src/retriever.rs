//! Finding the passages of an assistant's knowledge bases that answer a question. The
//! [`Retriever`] trait is what the `search_knowledge_base` tool, prompt mode and the offline
//! responder use, so a semantic (embedding) retriever can replace or join the full-text one
//! later; [`FullTextRetriever`] asks the store's full-text index. [`match_quality`] says how
//! well a passage covers a question, the same way whatever ranked it.

use async_trait::async_trait;
use confab_domain::{KnowledgeBaseId, Passage, WorkspaceId};
use confab_storage::{search_terms, StoreError};
use std::sync::Arc;

#[async_trait]
pub trait Retriever: Send + Sync {
    /// Up to `limit` passages of the workspace's `knowledge_base_ids` for `query`, best first.
    async fn retrieve(
        &self,
        workspace_id: WorkspaceId,
        knowledge_base_ids: &[KnowledgeBaseId],
        query: &str,
        limit: u32,
    ) -> Result<Vec<Passage>, StoreError>;
}

/// Full-text search over the stored passages (FTS5 on SQLite, `tsvector` on PostgreSQL).
pub struct FullTextRetriever {
    store: Arc<dyn confab_storage::Store>,
}

impl FullTextRetriever {
    pub fn new(store: Arc<dyn confab_storage::Store>) -> Self {
        Self { store }
    }
}

#[async_trait]
impl Retriever for FullTextRetriever {
    async fn retrieve(
        &self,
        workspace_id: WorkspaceId,
        knowledge_base_ids: &[KnowledgeBaseId],
        query: &str,
        limit: u32,
    ) -> Result<Vec<Passage>, StoreError> {
        self.store.search_knowledge(workspace_id, knowledge_base_ids, query, limit).await
    }
}

/// The share (0 to 1) of the query's search terms found in the passage (its title, headings or
/// text), a term counting as found when a word starts with it — as the full-text search
/// matches. 0 for a query without search terms.
pub fn match_quality(query: &str, passage: &Passage) -> f64 {
    let terms = search_terms(query);
    if terms.is_empty() {
        return 0.0;
    }
    let words: Vec<String> =
        search_terms_all(&format!("{} {} {}", passage.document_title, passage.heading, passage.text));
    let found = terms.iter().filter(|t| words.iter().any(|w| w.starts_with(t.as_str()))).count();
    found as f64 / terms.len() as f64
}

/// Every lower-cased word of `text`, common ones included.
fn search_terms_all(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passage(text: &str) -> Passage {
        Passage {
            knowledge_base_id: KnowledgeBaseId::new(),
            document_id: confab_domain::DocumentId::new(),
            document_title: "Store guide".into(),
            heading: "Opening hours".into(),
            text: text.into(),
            score: 1.0,
        }
    }

    #[test]
    fn quality_is_the_share_of_terms_found() {
        let p = passage("We are open Monday to Saturday.");
        assert_eq!(match_quality("When do you open on Saturday?", &p), 1.0);
        assert_eq!(match_quality("opening hours on sunday", &p), 2.0 / 3.0);
        assert_eq!(match_quality("bicycle repair", &p), 0.0);
        assert_eq!(match_quality("?!", &p), 0.0);
    }
}
