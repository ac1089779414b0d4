//! Knowledge bases, their documents and the passages a search finds in them, and how an
//! assistant uses its knowledge bases ([`KnowledgeMode`]).

use crate::{DocumentId, KnowledgeBaseId, ValidationError, WorkspaceId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KnowledgeBase {
    pub id: KnowledgeBaseId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// Checks a knowledge base's name: 1 to 100 characters after trimming.
pub fn parse_knowledge_base_name(name: &str) -> Result<String, ValidationError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ValidationError::new("name", "name must be 1 to 100 characters"));
    }
    Ok(name.to_string())
}

/// Checks a document's title: 1 to 200 characters after trimming.
pub fn parse_document_title(title: &str) -> Result<String, ValidationError> {
    let title = title.trim();
    if title.is_empty() || title.chars().count() > 200 {
        return Err(ValidationError::new("title", "title must be 1 to 200 characters"));
    }
    Ok(title.to_string())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentFormat {
    Txt,
    Md,
    Html,
    Pdf,
    Docx,
    Csv,
    Website,
}

impl DocumentFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Txt => "txt",
            Self::Md => "md",
            Self::Html => "html",
            Self::Pdf => "pdf",
            Self::Docx => "docx",
            Self::Csv => "csv",
            Self::Website => "website",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Txt, Self::Md, Self::Html, Self::Pdf, Self::Docx, Self::Csv, Self::Website]
            .into_iter()
            .find(|f| f.as_str() == s)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentStatus {
    Pending,
    Processing,
    Ready,
    Failed,
}

impl DocumentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Processing => "processing",
            Self::Ready => "ready",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Processing, Self::Ready, Self::Failed].into_iter().find(|f| f.as_str() == s)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Document {
    pub id: DocumentId,
    pub knowledge_base_id: KnowledgeBaseId,
    pub title: String,
    pub format: DocumentFormat,
    pub status: DocumentStatus,
    /// How many passages it was split into.
    pub chunk_count: i64,
    /// The length of its text, in characters.
    pub content_chars: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// One passage a knowledge search found, best first in a result list.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Passage {
    pub knowledge_base_id: KnowledgeBaseId,
    pub document_id: DocumentId,
    pub document_title: String,
    /// The Markdown headings the passage sits under (`Shipping > Returns`), or empty.
    pub heading: String,
    pub text: String,
    /// Larger is better; comparable only within one result list (each backend ranks its way).
    pub score: f64,
}

/// How an assistant uses its knowledge bases.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KnowledgeMode {
    /// The model searches when it wants to, with the `search_knowledge_base` tool.
    #[default]
    Tool,
    /// Each turn, the passages best matching the customer's messages go into the system prompt.
    Prompt,
}

impl KnowledgeMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tool => "tool",
            Self::Prompt => "prompt",
        }
    }

    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        match s {
            "tool" => Ok(Self::Tool),
            "prompt" => Ok(Self::Prompt),
            _ => Err(ValidationError::new("knowledge_mode", "knowledge_mode must be tool or prompt")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_formats_and_modes() {
        assert!(parse_knowledge_base_name(" ").is_err());
        assert_eq!(parse_knowledge_base_name(" FAQ ").unwrap(), "FAQ");
        assert!(parse_document_title(&"t".repeat(201)).is_err());
        assert_eq!(DocumentFormat::parse("md"), Some(DocumentFormat::Md));
        assert_eq!(DocumentFormat::parse("doc"), None);
        assert_eq!(DocumentStatus::parse("ready"), Some(DocumentStatus::Ready));
        assert_eq!(KnowledgeMode::parse("prompt").unwrap(), KnowledgeMode::Prompt);
        assert!(KnowledgeMode::parse("both").is_err());
        assert_eq!(KnowledgeMode::default(), KnowledgeMode::Tool);
    }
}
