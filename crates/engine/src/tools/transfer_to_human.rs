//! `transfer_to_human`: the model hands the conversation to a person (AI off for it, with a
//! system note giving the reason).

use super::{Tool, ToolContext, ToolRun};
use async_trait::async_trait;
use confab_assistant::ToolSpec;
use serde_json::{json, Value};

pub const TRANSFER_TO_HUMAN: &str = "transfer_to_human";

pub struct TransferToHuman;

#[async_trait]
impl Tool for TransferToHuman {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: TRANSFER_TO_HUMAN.into(),
            description: "Hand the conversation to a human colleague when the customer asks for a person or when you cannot help."
                .into(),
            parameters: json!({
                "type": "object",
                "properties": { "reason": { "type": "string", "description": "Why a person should take over" } },
                "required": ["reason"],
            }),
        }
    }

    async fn call(&self, _context: &ToolContext<'_>, arguments: &Value) -> ToolRun {
        let reason = arguments["reason"].as_str().unwrap_or("the assistant asked for a person").to_string();
        let mut run =
            ToolRun::ok(json!({ "status": "transferred", "note": "A person will continue this conversation." }));
        run.hand_over = Some(reason);
        run
    }
}
