//! The tools an assistant's model may call during a turn: the [`Tool`] trait every tool
//! implements, what a call may do to the conversation ([`ToolRun`]), and the [`Toolbox`] a turn
//! gets from the [`ToolCatalog`] — the built-in tools the assistant enabled, plus those that
//! need storage or the network once the catalog has them.
//!
//! A tool never fails the turn: bad arguments or a failing backend come back to the model as
//! a tool error it can react to. Tools do not write the conversation themselves; what they
//! change (variables, hand-over, end) rides on the turn's fenced commit.
//!
//! Adding a tool: one file here implementing [`Tool`], and one arm in
//! [`ToolCatalog::toolbox`] that builds it when the assistant enabled it.
//! `search_knowledge_base` is the exception: it is there whenever the assistant has knowledge
//! bases in knowledge mode `tool` and the catalog has the store.
//!
//! HTTP tools are the workspace's own ([`http_tool`]): an assistant enables one by listing its
//! name, and the catalog loads them from the store when it has the HTTP client
//! ([`ToolCatalog::with_http_tools`]), whose [`network_guard`] decides where they may go.

mod collect_data;
mod end_conversation;
pub mod http_tool;
pub mod network_guard;
mod schedule_appointment;
mod search_knowledge_base;
mod transfer_to_human;

pub use collect_data::{CollectData, COLLECT_DATA};
pub use end_conversation::{EndConversation, END_CONVERSATION};
pub use http_tool::{HttpToolCall, HttpToolClient};
pub use network_guard::HttpToolPolicy;
pub use schedule_appointment::{ScheduleAppointment, SCHEDULE_APPOINTMENT};
pub use search_knowledge_base::{SearchKnowledgeBase, PASSAGES_PER_SEARCH, SEARCH_KNOWLEDGE_BASE};
pub use transfer_to_human::{TransferToHuman, TRANSFER_TO_HUMAN};

use crate::retriever::{FullTextRetriever, Retriever};
use async_trait::async_trait;
use confab_assistant::ToolSpec;
use confab_domain::tool::BUILT_IN_TOOLS;
use confab_domain::{Assistant, Conversation, Customer, KnowledgeMode};
use confab_storage::Store;
use serde_json::{Map, Value};
use std::sync::Arc;
use time::OffsetDateTime;

/// What a tool sees of the turn that calls it.
pub struct ToolContext<'a> {
    pub assistant: &'a Assistant,
    pub conversation: &'a Conversation,
    pub customer: Option<&'a Customer>,
    pub now: OffsetDateTime,
}

/// What one call did: its result (or the error the model reads) and what it changes.
#[derive(Debug)]
pub struct ToolRun {
    pub result: Result<Value, String>,
    /// The conversation goes to a person, for this reason.
    pub hand_over: Option<String>,
    /// The conversation ends, with this summary.
    pub end: Option<String>,
    /// Merged into the conversation's variables when the turn commits.
    pub variables: Map<String, Value>,
}

impl ToolRun {
    pub fn ok(result: Value) -> Self {
        Self { result: Ok(result), hand_over: None, end: None, variables: Map::new() }
    }

    pub fn error(message: impl Into<String>) -> Self {
        Self { result: Err(message.into()), hand_over: None, end: None, variables: Map::new() }
    }
}

#[async_trait]
pub trait Tool: Send + Sync {
    /// The name, description and JSON-schema parameters the model is shown.
    fn spec(&self) -> ToolSpec;
    async fn call(&self, context: &ToolContext<'_>, arguments: &Value) -> ToolRun;
}

/// The tools one turn may use.
#[derive(Default)]
pub struct Toolbox {
    tools: Vec<Arc<dyn Tool>>,
}

impl Toolbox {
    pub fn new(tools: Vec<Arc<dyn Tool>>) -> Self {
        Self { tools }
    }

    pub fn specs(&self) -> Vec<ToolSpec> {
        self.tools.iter().map(|tool| tool.spec()).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.tools.is_empty()
    }

    /// Runs the named tool; a name the turn does not have is an error the model reads.
    pub async fn call(&self, name: &str, context: &ToolContext<'_>, arguments: &Value) -> ToolRun {
        match self.tools.iter().find(|tool| tool.spec().name == name) {
            Some(tool) => tool.call(context, arguments).await,
            None => ToolRun::error(format!("there is no tool called {name}")),
        }
    }
}

/// Builds each turn's [`Toolbox`] from what the assistant enabled.
#[derive(Clone, Default)]
pub struct ToolCatalog {
    store: Option<Arc<dyn Store>>,
    /// Knowledge search, for `search_knowledge_base` (and prompt mode); from the store.
    retriever: Option<Arc<dyn Retriever>>,
    http: Option<Arc<HttpToolClient>>,
}

impl ToolCatalog {
    /// Only the tools that need nothing but the turn itself.
    pub fn builtin() -> Self {
        Self::default()
    }

    /// Every tool, those backed by storage included.
    pub fn with_store(store: Arc<dyn Store>) -> Self {
        Self { retriever: Some(Arc::new(FullTextRetriever::new(store.clone()))), store: Some(store), http: None }
    }

    /// The knowledge retriever the catalog's tools use, if it has one (prompt mode uses it too).
    pub fn retriever(&self) -> Option<Arc<dyn Retriever>> {
        self.retriever.clone()
    }

    /// Adds the workspace's HTTP tools (loaded from the store, so only with
    /// [`ToolCatalog::with_store`]), sent through `client`.
    pub fn with_http_tools(mut self, client: Arc<HttpToolClient>) -> Self {
        self.http = Some(client);
        self
    }

    /// The assistant's enabled HTTP tools: the names it lists that are not built in and that
    /// name one of its workspace's HTTP tools. A store error leaves them out of this turn.
    async fn http_tools(&self, assistant: &Assistant) -> Vec<Arc<dyn Tool>> {
        let (Some(store), Some(client)) = (&self.store, &self.http) else { return Vec::new() };
        let wanted: Vec<_> = assistant.tools.iter().filter(|name| !BUILT_IN_TOOLS.contains(&name.as_str())).collect();
        if wanted.is_empty() {
            return Vec::new();
        }
        match store.list_http_tools(assistant.workspace_id).await {
            Ok(tools) => tools
                .into_iter()
                .filter(|tool| wanted.contains(&&tool.definition.name))
                .map(|tool| Arc::new(HttpToolCall::new(tool, Arc::clone(client))) as Arc<dyn Tool>)
                .collect(),
            Err(err) => {
                tracing::warn!(assistant_id = %assistant.id, error = %err, "HTTP tools could not be loaded for this turn");
                Vec::new()
            }
        }
    }

    pub async fn toolbox(&self, assistant: &Assistant) -> Toolbox {
        let mut tools: Vec<Arc<dyn Tool>> = assistant
            .tools
            .iter()
            .filter_map(|name| -> Option<Arc<dyn Tool>> {
                let tool: Option<Arc<dyn Tool>> = match name.as_str() {
                    TRANSFER_TO_HUMAN => Some(Arc::new(TransferToHuman)),
                    END_CONVERSATION => Some(Arc::new(EndConversation)),
                    COLLECT_DATA => {
                        CollectData::new(assistant.data_fields.clone()).map(|t| Arc::new(t) as Arc<dyn Tool>)
                    }
                    SCHEDULE_APPOINTMENT => match (&self.store, &assistant.availability) {
                        (Some(store), Some(availability)) => Some(Arc::new(ScheduleAppointment::new(
                            store.clone(),
                            availability.clone(),
                            &assistant.timezone,
                        ))),
                        _ => None,
                    },
                    _ => None,
                };
                if tool.is_none() {
                    tracing::debug!(assistant_id = %assistant.id, tool = %name, "tool enabled but not available: it needs settings (data_fields, availability) or storage");
                }
                tool
            })
            .collect();
        // knowledge search is the model's to call when the assistant has knowledge bases and
        // uses them in `tool` mode (listing the tool by name is not needed)
        if let Some(retriever) = &self.retriever {
            if !assistant.knowledge_base_ids.is_empty() && assistant.knowledge_mode == KnowledgeMode::Tool {
                tools.push(Arc::new(SearchKnowledgeBase::new(retriever.clone())));
            }
        }
        tools.extend(self.http_tools(assistant).await);
        Toolbox::new(tools)
    }
}
