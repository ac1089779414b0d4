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

mod end_conversation;
mod transfer_to_human;

pub use end_conversation::{EndConversation, END_CONVERSATION};
pub use transfer_to_human::{TransferToHuman, TRANSFER_TO_HUMAN};

use async_trait::async_trait;
use confab_assistant::ToolSpec;
use confab_domain::{Assistant, Conversation, Customer};
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
}

impl ToolCatalog {
    /// Only the tools that need nothing but the turn itself.
    pub fn builtin() -> Self {
        Self::default()
    }

    /// Every tool, those backed by storage included.
    pub fn with_store(store: Arc<dyn Store>) -> Self {
        Self { store: Some(store) }
    }

    pub async fn toolbox(&self, assistant: &Assistant) -> Toolbox {
        let _ = &self.store;
        let tools = assistant
            .tools
            .iter()
            .filter_map(|name| -> Option<Arc<dyn Tool>> {
                match name.as_str() {
                    TRANSFER_TO_HUMAN => Some(Arc::new(TransferToHuman)),
                    END_CONVERSATION => Some(Arc::new(EndConversation)),
                    _ => None,
                }
            })
            .collect();
        Toolbox::new(tools)
    }
}
