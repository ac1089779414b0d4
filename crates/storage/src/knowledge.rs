//! Knowledge bases and their documents ([`KnowledgeStore`]), and the query rules both backends
//! share: a customer's or model's free text becomes a list of plain search terms
//! ([`search_terms`]) that each backend turns into its own full-text query syntax
//! ([`fts5_query`], [`tsquery`]). Terms hold only letters and digits, so no user input can be
//! a syntax error (quotes, `*`, `-`, `NEAR`, `OR`, parentheses are all just separators or
//! words); terms are OR-ed and matched as prefixes, so a passage matching more of them ranks
//! higher, and "open" finds "opening".
//!
//! Chunking is the caller's job (the engine's `chunking` module): a document arrives here with
//! its passages, and is stored with them in one transaction.

use crate::Result;
use async_trait::async_trait;
use confab_domain::{Document, DocumentFormat, DocumentId, KnowledgeBase, KnowledgeBaseId, Passage, WorkspaceId};

/// Knowledge bases, documents and full-text search over their passages. Every method is scoped
/// to a workspace: another workspace's ids are not found.
#[async_trait]
pub trait KnowledgeStore: Send + Sync {
    async fn create_knowledge_base(&self, workspace_id: WorkspaceId, name: &str) -> Result<KnowledgeBase>;
    /// Oldest first.
    async fn list_knowledge_bases(&self, workspace_id: WorkspaceId) -> Result<Vec<KnowledgeBase>>;
    async fn get_knowledge_base(&self, workspace_id: WorkspaceId, id: KnowledgeBaseId) -> Result<KnowledgeBase>;
    async fn rename_knowledge_base(
        &self,
        workspace_id: WorkspaceId,
        id: KnowledgeBaseId,
        name: &str,
    ) -> Result<KnowledgeBase>;
    /// Deletes it with its documents and passages, and detaches it from the workspace's
    /// assistants, in one transaction.
    async fn delete_knowledge_base(&self, workspace_id: WorkspaceId, id: KnowledgeBaseId) -> Result<()>;

    /// Stores a document and its passages in one transaction; it is `ready` (searchable) once
    /// this returns. Not found when the knowledge base is not the workspace's.
    async fn add_document(&self, workspace_id: WorkspaceId, document: NewDocument) -> Result<Document>;
    /// Oldest first. Not found when the knowledge base is not the workspace's.
    async fn list_documents(
        &self,
        workspace_id: WorkspaceId,
        knowledge_base_id: KnowledgeBaseId,
    ) -> Result<Vec<Document>>;
    /// The document with its full text.
    async fn get_document(
        &self,
        workspace_id: WorkspaceId,
        knowledge_base_id: KnowledgeBaseId,
        id: DocumentId,
    ) -> Result<DocumentWithContent>;
    /// Deletes the document and its passages (gone from search at once).
    async fn delete_document(
        &self,
        workspace_id: WorkspaceId,
        knowledge_base_id: KnowledgeBaseId,
        id: DocumentId,
    ) -> Result<()>;

    /// Up to `limit` passages of the workspace's knowledge bases among `knowledge_base_ids`
    /// matching any term of `query`, best first. Any text is a valid query; one without a
    /// searchable word finds nothing.
    async fn search_knowledge(
        &self,
        workspace_id: WorkspaceId,
        knowledge_base_ids: &[KnowledgeBaseId],
        query: &str,
        limit: u32,
    ) -> Result<Vec<Passage>>;
}

/// A document to add, already split into passages.
#[derive(Clone, Debug)]
pub struct NewDocument {
    pub knowledge_base_id: KnowledgeBaseId,
    pub title: String,
    pub format: DocumentFormat,
    pub content: String,
    pub chunks: Vec<NewChunk>,
}

/// One passage of a document, in document order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewChunk {
    /// The Markdown headings the passage sits under, or empty.
    pub heading: String,
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentWithContent {
    pub document: Document,
    pub content: String,
}

/// At most this many terms of a query are searched (the first ones).
pub const MAX_QUERY_TERMS: usize = 24;
/// Longer "words" are cut to this many characters.
const MAX_TERM_CHARS: usize = 64;
/// Terms shorter than this are matched whole, longer ones also as prefixes.
const MIN_PREFIX_CHARS: usize = 3;

/// Words too common to say what a question is about (English and Spanish, the languages of
/// confab's first users). Dropped from queries unless nothing else is left.
const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "can", "could", "do", "does", "for", "from", "have", "hi",
    "hello", "how", "i", "if", "in", "is", "it", "me", "my", "of", "on", "or", "our", "please", "so", "that", "the",
    "there", "this", "to", "us", "was", "we", "what", "when", "where", "which", "who", "why", "will", "with", "would",
    "you", "your", "al", "como", "con", "de", "del", "el", "en", "es", "la", "las", "lo", "los", "mi", "para", "por",
    "que", "se", "su", "un", "una", "y",
];

/// The searchable terms of free text: runs of letters and digits, lower-cased, without
/// duplicates, common words dropped (unless that leaves nothing), at most
/// [`MAX_QUERY_TERMS`]. Empty when the text has no letter or digit.
pub fn search_terms(query: &str) -> Vec<String> {
    let mut all: Vec<String> = Vec::new();
    for word in query.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        let word: String = word.to_lowercase().chars().take(MAX_TERM_CHARS).collect();
        if !all.contains(&word) {
            all.push(word);
        }
    }
    let meaningful: Vec<String> = all.iter().filter(|w| !STOP_WORDS.contains(&w.as_str())).cloned().collect();
    let mut terms = if meaningful.is_empty() { all } else { meaningful };
    terms.truncate(MAX_QUERY_TERMS);
    terms
}

/// An FTS5 MATCH expression for `terms` (from [`search_terms`]): each quoted (a term is letters
/// and digits only, so it never holds a quote), prefix-matched when long enough, OR-ed.
pub fn fts5_query(terms: &[String]) -> String {
    terms
        .iter()
        .map(|t| if t.chars().count() >= MIN_PREFIX_CHARS { format!("\"{t}\" *") } else { format!("\"{t}\"") })
        .collect::<Vec<_>>()
        .join(" OR ")
}

/// A `to_tsquery('simple', …)` expression for `terms` (from [`search_terms`]): each quoted,
/// prefix-matched when long enough, OR-ed.
pub fn tsquery(terms: &[String]) -> String {
    terms
        .iter()
        .map(|t| if t.chars().count() >= MIN_PREFIX_CHARS { format!("'{t}':*") } else { format!("'{t}'") })
        .collect::<Vec<_>>()
        .join(" | ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_queries_become_plain_terms() {
        assert!(search_terms("").is_empty());
        assert!(search_terms(" \"*-()^:' ").is_empty());
        assert_eq!(search_terms("\"refund\" NEAR(policy) -shipping*"), ["refund", "near", "policy", "shipping"]);
        assert_eq!(search_terms("What are your opening HOURS?"), ["opening", "hours"]);
        assert_eq!(search_terms("how are you"), ["how", "are", "you"]);
        assert_eq!(search_terms("Envío a Canarias"), ["envío", "canarias"]);
        assert_eq!(search_terms(&"word ".repeat(100)), ["word"]);
        let many: String = (0..100).map(|i| format!("w{i} ")).collect();
        assert_eq!(search_terms(&many).len(), MAX_QUERY_TERMS);
    }

    #[test]
    fn backend_syntax() {
        let terms = vec!["opening".to_string(), "mx".to_string()];
        assert_eq!(fts5_query(&terms), "\"opening\" * OR \"mx\"");
        assert_eq!(tsquery(&terms), "'opening':* | 'mx'");
    }
}
