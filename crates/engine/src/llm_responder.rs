//! The responder backed by an LLM: the system prompt and history go to the model with the
//! assistant's enabled tools; tool calls run and their results go back, for a bounded number
//! of steps; every call's tokens and cost are recorded on the message it produced (retries
//! and discarded attempts included). When the model cannot be reached after its retries, the
//! assistant's fallback message goes out and the conversation is handed to a person, with a
//! note that says why — never a silent gap.

use crate::llm_routes::LlmRoutes;
use crate::offline_responder::DEFAULT_HANDOVER_REPLY;
use crate::prompt::{chat_history, knowledge_section, system_prompt, HISTORY_BUDGET_CHARS, PROMPT_PASSAGES};
use crate::responder::{Responder, TurnInput, TurnOutcome};
use crate::tools::{ToolCatalog, ToolContext, END_CONVERSATION, TRANSFER_TO_HUMAN};
use async_trait::async_trait;
use confab_assistant::{BilledAttempt, ChatMessage, ChatRequest, LlmClient, PriceTable, ToolChoice};
use confab_domain::{Assistant, KnowledgeMode, MicroUsd, Role, ToolCall, Usage};
use confab_storage::NewMessage;
use std::sync::Arc;
use std::time::Instant;
use time::OffsetDateTime;

/// Model calls one turn may make (each tool round trip is one).
pub const MAX_STEPS: usize = 5;

pub struct LlmResponder {
    routes: LlmRoutes,
    prices: PriceTable,
    tools: ToolCatalog,
}

impl LlmResponder {
    pub fn new(client: Arc<dyn LlmClient>, default_model: impl Into<String>, prices: PriceTable) -> Self {
        Self { routes: LlmRoutes::new(client, default_model), prices, tools: ToolCatalog::builtin() }
    }

    /// Where each turn's tools come from (only the built-in ones that need no storage unless
    /// set).
    pub fn with_tools(mut self, tools: ToolCatalog) -> Self {
        self.tools = tools;
        self
    }

    /// Adds a provider the assistants can name (`provider` in an assistant's settings), with
    /// the model used when the assistant names none.
    pub fn with_named_provider(
        mut self,
        name: impl Into<String>,
        client: Arc<dyn LlmClient>,
        default_model: Option<String>,
    ) -> Self {
        self.routes = self.routes.with_named(name, client, default_model);
        self
    }

    /// Which client and model answer which assistant (for other model work, e.g. extraction).
    pub fn routes(&self) -> LlmRoutes {
        self.routes.clone()
    }

    /// In knowledge mode `prompt`: the passages best matching the pending customer messages,
    /// as a system-prompt section. A failed search only leaves them out.
    async fn prompt_knowledge(&self, input: &TurnInput<'_>) -> Option<String> {
        let assistant = input.assistant;
        if assistant.knowledge_mode != KnowledgeMode::Prompt || assistant.knowledge_base_ids.is_empty() {
            return None;
        }
        let retriever = self.tools.retriever()?;
        let question = input.pending.iter().map(|m| m.content.as_str()).collect::<Vec<_>>().join("\n");
        let passages = retriever
            .retrieve(assistant.workspace_id, &assistant.knowledge_base_ids, &question, PROMPT_PASSAGES)
            .await
            .map_err(|err| tracing::warn!(error = %err, "knowledge search failed; answering without passages"))
            .ok()?;
        knowledge_section(&passages)
    }

    /// What the billed attempts cost at `prices` (the workspace's table, else ours).
    fn cost(&self, prices: Option<&PriceTable>, billed: &[BilledAttempt]) -> (MicroUsd, Usage) {
        let prices = prices.unwrap_or(&self.prices);
        billed.iter().fold((MicroUsd::ZERO, Usage::default()), |(cost, usage), attempt| {
            (cost + prices.llm_cost(&attempt.model, &attempt.usage), usage + attempt.usage)
        })
    }
}

#[async_trait]
impl Responder for LlmResponder {
    async fn respond(&self, input: TurnInput<'_>) -> TurnOutcome {
        let assistant = input.assistant;
        let (client, model) = match self.routes.route(assistant) {
            Ok(route) => route,
            Err(note) => {
                tracing::warn!(conversation_id = %input.conversation.id, "the assistant's LLM provider is not configured: handing over");
                let mut outcome = TurnOutcome::default();
                let payload = serde_json::json!({ "llm_error": "provider_not_configured" });
                hand_over(&mut outcome, assistant, (MicroUsd::ZERO, Usage::default()), payload, note);
                return outcome;
            }
        };
        let now = OffsetDateTime::now_utc();
        let toolbox = self.tools.toolbox(assistant).await;
        let tools = toolbox.specs();
        let context = ToolContext { assistant, conversation: input.conversation, customer: input.customer, now };
        let mut system = system_prompt(assistant, input.conversation, input.customer, now);
        if let Some(section) = self.prompt_knowledge(&input).await {
            system.push_str("\n\n");
            system.push_str(&section);
        }
        let mut request = ChatRequest {
            model: model.clone(),
            system,
            messages: chat_history(input.history, HISTORY_BUDGET_CHARS),
            tool_choice: if tools.is_empty() { ToolChoice::None } else { ToolChoice::Auto },
            tools,
            temperature: assistant.temperature.map(|t| t.value()),
            max_tokens: None,
        };
        let mut outcome = TurnOutcome::default();
        for _ in 0..MAX_STEPS {
            let started = Instant::now();
            let response = match client.chat(&request).await {
                Ok(response) => response,
                Err(err) => {
                    let (cost, usage) = self.cost(input.prices, err.billed());
                    tracing::warn!(conversation_id = %input.conversation.id, kind = ?err.kind(), attempts = err.attempts(), "LLM unavailable: handing over");
                    let note = format!(
                        "The assistant could not reach its LLM ({}) and handed the conversation to a person.",
                        err.message()
                    );
                    // the metrics count these (llm_failures, and timeouts by kind)
                    let payload = serde_json::json!({ "llm_error": err.kind().as_str() });
                    hand_over(&mut outcome, assistant, (cost, usage), payload, note);
                    return outcome;
                }
            };
            let latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
            let (cost, usage) = self.cost(input.prices, &response.billed());
            if response.tool_calls.is_empty() {
                if let Some(text) = response.content.filter(|t| !t.trim().is_empty()) {
                    let mut reply = NewMessage::text(Role::Assistant, text);
                    reply.cost = cost;
                    reply.usage = Some(usage);
                    reply.payload = serde_json::json!({ "model": response.model, "llm_latency_ms": latency_ms });
                    outcome.messages.push(reply);
                }
                return outcome;
            }
            request
                .messages
                .push(ChatMessage::assistant_tool_calls(response.content.clone(), response.tool_calls.clone()));
            for (i, call) in response.tool_calls.iter().enumerate() {
                let tool_started = Instant::now();
                let mut run = toolbox.call(&call.name, &context, &call.arguments).await;
                outcome.variables.append(&mut run.variables);
                let duration_ms = i64::try_from(tool_started.elapsed().as_millis()).unwrap_or(i64::MAX);
                let result_text = match &run.result {
                    Ok(value) => value.to_string(),
                    Err(error) => format!("error: {error}"),
                };
                request.messages.push(ChatMessage::tool_result(call.id.clone(), result_text));
                let mut record = NewMessage::text(Role::Tool, format!("{}({})", call.name, call.arguments));
                record.tool_call = Some(ToolCall {
                    call_id: call.id.clone(),
                    name: call.name.clone(),
                    arguments: call.arguments.clone(),
                    result: run.result.as_ref().ok().cloned(),
                    error: run.result.as_ref().err().cloned(),
                    duration_ms,
                });
                if i == 0 {
                    // the model call that asked for the tools is billed on the first of them
                    record.cost = cost;
                    record.usage = Some(usage);
                    record.payload = serde_json::json!({ "model": response.model, "llm_latency_ms": latency_ms });
                }
                outcome.messages.push(record);
                if let Some(summary) = run.end {
                    outcome.end = true;
                    outcome.messages.push(NewMessage::text(
                        Role::System,
                        format!("Conversation ended by the assistant ({END_CONVERSATION}): {summary}"),
                    ));
                }
                if let Some(reason) = run.hand_over {
                    outcome.hand_over = true;
                    outcome.messages.push(NewMessage::text(
                        Role::System,
                        format!("Handed over to a person by the assistant ({TRANSFER_TO_HUMAN}): {reason}"),
                    ));
                }
            }
        }
        outcome.messages.push(NewMessage::text(
            Role::System,
            format!("The assistant stopped after {MAX_STEPS} model calls without a final answer."),
        ));
        outcome.hand_over = true;
        outcome
    }
}

/// Ends the turn the deliberate way when the model cannot answer: the assistant's fallback
/// message (carrying what the failed calls cost), a system note saying why, and the
/// conversation handed to a person.
fn hand_over(
    outcome: &mut TurnOutcome,
    assistant: &Assistant,
    (cost, usage): (MicroUsd, Usage),
    payload: serde_json::Value,
    note: String,
) {
    let text = assistant
        .fallback_message
        .clone()
        .filter(|m| !m.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_HANDOVER_REPLY.into());
    let mut fallback = NewMessage::text(Role::Assistant, text);
    fallback.cost = cost;
    fallback.usage = (usage != Usage::default()).then_some(usage);
    fallback.payload = payload;
    outcome.messages.push(fallback);
    outcome.messages.push(NewMessage::text(Role::System, note));
    outcome.hand_over = true;
}
