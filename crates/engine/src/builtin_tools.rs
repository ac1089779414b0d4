//! The built-in tools an assistant may enable, as the model sees them and as they run.
//! (`transfer_to_human` and `end_conversation` for now; the others come with their storage.)

use confab_assistant::ToolSpec;
use confab_domain::Assistant;
use serde_json::{json, Value};

pub const TRANSFER_TO_HUMAN: &str = "transfer_to_human";
pub const END_CONVERSATION: &str = "end_conversation";

/// The specs of the built-in tools this assistant enabled.
pub fn enabled_tools(assistant: &Assistant) -> Vec<ToolSpec> {
    assistant
        .tools
        .iter()
        .filter_map(|name| match name.as_str() {
            TRANSFER_TO_HUMAN => Some(ToolSpec {
                name: TRANSFER_TO_HUMAN.into(),
                description: "Hand the conversation to a human colleague when the customer asks for a person or when you cannot help."
                    .into(),
                parameters: json!({
                    "type": "object",
                    "properties": { "reason": { "type": "string", "description": "Why a person should take over" } },
                    "required": ["reason"],
                }),
            }),
            END_CONVERSATION => Some(ToolSpec {
                name: END_CONVERSATION.into(),
                description: "End the conversation once the customer's request is fully handled and they have nothing more to ask."
                    .into(),
                parameters: json!({
                    "type": "object",
                    "properties": { "summary": { "type": "string", "description": "One sentence on how it ended" } },
                }),
            }),
            _ => None,
        })
        .collect()
}

/// What running a tool did.
pub struct ToolRun {
    pub result: Result<Value, String>,
    /// The conversation goes to a person.
    pub hand_over: Option<String>,
    /// The conversation ends, with this summary.
    pub end: Option<String>,
}

pub fn run(name: &str, arguments: &Value) -> ToolRun {
    match name {
        TRANSFER_TO_HUMAN => {
            let reason = arguments["reason"].as_str().unwrap_or("the assistant asked for a person").to_string();
            ToolRun {
                result: Ok(json!({ "status": "transferred", "note": "A person will continue this conversation." })),
                hand_over: Some(reason),
                end: None,
            }
        }
        END_CONVERSATION => {
            let summary = arguments["summary"].as_str().unwrap_or("the assistant ended the conversation").to_string();
            ToolRun { result: Ok(json!({ "status": "ended" })), hand_over: None, end: Some(summary) }
        }
        other => ToolRun { result: Err(format!("there is no tool called {other}")), hand_over: None, end: None },
    }
}
