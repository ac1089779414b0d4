//! `end_conversation`: the model ends a conversation whose business is done; the customer's
//! next message starts a new one.

use super::{Tool, ToolContext, ToolRun};
use async_trait::async_trait;
use confab_assistant::ToolSpec;
use serde_json::{json, Value};

pub const END_CONVERSATION: &str = "end_conversation";

pub struct EndConversation;

#[async_trait]
impl Tool for EndConversation {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: END_CONVERSATION.into(),
            description:
                "End the conversation once the customer's request is fully handled and they have nothing more to ask."
                    .into(),
            parameters: json!({
                "type": "object",
                "properties": { "summary": { "type": "string", "description": "One sentence on how it ended" } },
            }),
        }
    }

    async fn call(&self, _context: &ToolContext<'_>, arguments: &Value) -> ToolRun {
        let summary = arguments["summary"].as_str().unwrap_or("the assistant ended the conversation").to_string();
        let mut run = ToolRun::ok(json!({ "status": "ended" }));
        run.end = Some(summary);
        run
    }
}
