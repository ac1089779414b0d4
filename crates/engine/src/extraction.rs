//! Post-conversation extraction: once a conversation has ended (the model ended it, the
//! inactivity timeout did, or a person), a worker reads its transcript and records the
//! assistant's extraction schema — always `status` and `summary`, plus the assistant's own
//! fields — on the conversation (`extracted`), adding what the model call cost to its total.
//!
//! Claims carry a lease so several processes share the work and a crashed one's claims come
//! back. With an LLM the fields come from one forced tool call; without one (the offline
//! responder) the extraction is `skipped`, recording only what is known without reading the
//! text (handed over or not, and the message counts) — deliberate, not a silent gap.

use crate::llm_routes::LlmRoutes;
use async_trait::async_trait;
use confab_assistant::{ChatMessage, ChatRequest, PriceTable, ToolChoice, ToolSpec};
use confab_domain::extraction::{parse_extraction_schema, ExtractionField, EXTRACTION_STATUSES};
use confab_domain::{Assistant, Conversation, ExtractionStatus, Message, MicroUsd, Role};
use confab_storage::{ExtractionResult, Store, StoreError};
use serde_json::{json, Map, Value};
use std::future::Future;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

/// The tool the model must call to record the outcome.
pub const RECORD_OUTCOME: &str = "record_conversation_outcome";
/// How much of the conversation the extraction reads (the newest messages).
const TRANSCRIPT_MESSAGES: u32 = 200;
/// Conversations claimed per step.
const BATCH: u32 = 10;
/// How long a claim lasts before another worker may take it over.
const LEASE: Duration = Duration::minutes(5);

/// Reads one ended conversation and says what to record.
#[async_trait]
pub trait Extractor: Send + Sync {
    async fn extract(
        &self,
        assistant: &Assistant,
        conversation: &Conversation,
        transcript: &[Message],
        prices: Option<&PriceTable>,
    ) -> ExtractionResult;
}

/// Extraction by the assistant's model, with one forced tool call.
pub struct LlmExtractor {
    routes: LlmRoutes,
    prices: PriceTable,
}

impl LlmExtractor {
    pub fn new(routes: LlmRoutes, prices: PriceTable) -> Self {
        Self { routes, prices }
    }
}

/// The tool whose parameters are the schema: `status`, `summary` and the assistant's fields.
pub fn outcome_tool(fields: &[ExtractionField]) -> ToolSpec {
    let mut properties = Map::new();
    properties.insert(
        "status".into(),
        json!({ "type": "string", "enum": EXTRACTION_STATUSES, "description": "How the conversation ended for the customer" }),
    );
    properties.insert(
        "summary".into(),
        json!({ "type": "string", "description": "One or two sentences: what the customer wanted and what happened" }),
    );
    for field in fields {
        properties.insert(
            field.name.clone(),
            json!({ "type": [field.kind.as_str(), "null"], "description": field.description }),
        );
    }
    ToolSpec::new(
        RECORD_OUTCOME,
        "Record the outcome of the finished conversation. Use null for a field the conversation does not mention.",
        json!({ "type": "object", "properties": properties, "required": ["status", "summary"] }),
    )
}

/// The transcript as the model reads it: one line per message, who said it first.
fn transcript_text(transcript: &[Message]) -> String {
    let mut text = String::new();
    for message in transcript {
        let who = match message.role {
            Role::User => "Customer",
            Role::Assistant => "Assistant",
            Role::Agent => "Human agent",
            Role::System => "Note",
            Role::Tool => "Tool call",
        };
        text.push_str(who);
        text.push_str(": ");
        text.push_str(&message.content);
        text.push('\n');
    }
    text
}

/// Keeps what fits the schema: a known status, a string summary, fields of their type (others
/// become null).
fn checked(arguments: &Value, fields: &[ExtractionField]) -> Option<Map<String, Value>> {
    let status = arguments.get("status")?.as_str().filter(|s| EXTRACTION_STATUSES.contains(s))?;
    let summary = arguments.get("summary")?.as_str()?;
    let mut extracted = Map::new();
    extracted.insert("status".into(), json!(status));
    extracted.insert("summary".into(), json!(summary));
    for field in fields {
        let value = arguments.get(&field.name).cloned().unwrap_or(Value::Null);
        extracted.insert(field.name.clone(), if field.kind.fits(&value) { value } else { Value::Null });
    }
    Some(extracted)
}

fn failed(reason: String) -> ExtractionResult {
    ExtractionResult {
        status: ExtractionStatus::Failed,
        extracted: Map::from_iter([("error".to_string(), json!(reason))]),
        cost: MicroUsd::ZERO,
        tokens: 0,
    }
}

#[async_trait]
impl Extractor for LlmExtractor {
    async fn extract(
        &self,
        assistant: &Assistant,
        conversation: &Conversation,
        transcript: &[Message],
        prices: Option<&PriceTable>,
    ) -> ExtractionResult {
        let fields = parse_extraction_schema(&assistant.extraction_schema).unwrap_or_default();
        let (client, model) = match self.routes.route(assistant) {
            Ok(route) => route,
            Err(note) => return failed(note),
        };
        let request = ChatRequest {
            model,
            system: "You read a finished conversation between a business's assistant and a customer, and record its \
                     outcome by calling the tool. Report only what the conversation says."
                .into(),
            messages: vec![ChatMessage::user(transcript_text(transcript))],
            tools: vec![outcome_tool(&fields)],
            tool_choice: ToolChoice::Tool(RECORD_OUTCOME.into()),
            temperature: Some(0.0),
            max_tokens: None,
        };
        let prices = prices.unwrap_or(&self.prices);
        match client.chat(&request).await {
            Ok(response) => {
                let billed = response.billed();
                let cost = billed.iter().map(|b| prices.llm_cost(&b.model, &b.usage)).sum();
                let tokens = billed
                    .iter()
                    .map(|b| i64::try_from(b.usage.input_tokens + b.usage.output_tokens).unwrap_or(i64::MAX))
                    .sum();
                let call = response.tool_calls.iter().find(|c| c.name == RECORD_OUTCOME);
                match call.and_then(|c| checked(&c.arguments, &fields)) {
                    Some(extracted) => ExtractionResult { status: ExtractionStatus::Done, extracted, cost, tokens },
                    None => ExtractionResult {
                        cost,
                        tokens,
                        ..failed("the model did not record the outcome in the expected shape".into())
                    },
                }
            }
            Err(err) => {
                tracing::warn!(conversation_id = %conversation.id, kind = ?err.kind(), "extraction: LLM unavailable");
                failed(format!("the LLM could not be reached: {}", err.message()))
            }
        }
    }
}

/// Without an LLM: records what is known without reading the text.
pub struct OfflineExtractor;

#[async_trait]
impl Extractor for OfflineExtractor {
    async fn extract(
        &self,
        _assistant: &Assistant,
        conversation: &Conversation,
        _transcript: &[Message],
        _prices: Option<&PriceTable>,
    ) -> ExtractionResult {
        let status = if conversation.ai_enabled { "unresolved" } else { "handed_over" };
        let summary = format!(
            "{} messages, {} from the customer. No LLM is configured, so the conversation was not read.",
            conversation.message_count, conversation.customer_message_count
        );
        ExtractionResult {
            status: ExtractionStatus::Skipped,
            extracted: Map::from_iter([("status".to_string(), json!(status)), ("summary".to_string(), json!(summary))]),
            cost: MicroUsd::ZERO,
            tokens: 0,
        }
    }
}

/// Claims ended conversations and records their extraction.
pub struct ExtractionWorker {
    store: Arc<dyn Store>,
    extractor: Arc<dyn Extractor>,
}

impl ExtractionWorker {
    pub fn new(store: Arc<dyn Store>, extractor: Arc<dyn Extractor>) -> Self {
        Self { store, extractor }
    }

    /// Extracts up to a batch of ended conversations; returns how many were recorded.
    pub async fn step(&self, now: OffsetDateTime) -> Result<usize, StoreError> {
        let claimed = self.store.claim_extractions(now, LEASE, BATCH).await?;
        for conversation in &claimed {
            let result = match self.store.get_assistant(conversation.workspace_id, conversation.assistant_id).await {
                Ok(assistant) => {
                    let transcript = self
                        .store
                        .recent_messages(conversation.workspace_id, conversation.id, TRANSCRIPT_MESSAGES)
                        .await?;
                    let prices = crate::workspace_prices::load(self.store.as_ref(), conversation.workspace_id).await?;
                    self.extractor.extract(&assistant, conversation, &transcript, prices.as_ref()).await
                }
                // a deleted assistant's schema is gone with it
                Err(StoreError::NotFound(_)) => ExtractionResult {
                    status: ExtractionStatus::Skipped,
                    extracted: Map::new(),
                    cost: MicroUsd::ZERO,
                    tokens: 0,
                },
                Err(err) => return Err(err),
            };
            self.store.finish_extraction(conversation.id, result).await?;
        }
        Ok(claimed.len())
    }

    /// Steps every `every` (at once again while there is a backlog) until `shutdown`.
    pub async fn run(self, every: std::time::Duration, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            let pause = match self.step(OffsetDateTime::now_utc()).await {
                Ok(n) if n == BATCH as usize => std::time::Duration::ZERO,
                Ok(_) => every,
                Err(err) => {
                    tracing::error!(error = %err, "extraction step failed");
                    every
                }
            };
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(pause) => {}
            }
        }
    }
}
