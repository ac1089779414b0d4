//! `collect_data`: the model saves what the customer told it into conversation variables,
//! field by field as the assistant's `data_fields` define them.
//!
//! The tool's parameters are built from those fields, so the model sees each field's type,
//! options and rules. Every value is checked against its field ([`DataField::check`]): valid
//! ones become variables when the turn commits, even when others in the same call are
//! rejected; rejected ones come back as a tool error naming each field and the rule it broke,
//! so the model can ask the customer again.

use super::{Tool, ToolContext, ToolRun};
use async_trait::async_trait;
use confab_assistant::ToolSpec;
use confab_domain::DataField;
use serde_json::{json, Map, Value};

pub const COLLECT_DATA: &str = "collect_data";

pub struct CollectData {
    fields: Vec<DataField>,
}

impl CollectData {
    /// The tool for these fields; `None` when there are none (nothing to collect).
    pub fn new(fields: Vec<DataField>) -> Option<Self> {
        (!fields.is_empty()).then_some(Self { fields })
    }

    fn field(&self, name: &str) -> Option<&DataField> {
        self.fields.iter().find(|f| f.name == name)
    }

    fn names(&self, required_only: bool) -> Vec<&str> {
        self.fields.iter().filter(|f| f.required || !required_only).map(|f| f.name.as_str()).collect()
    }
}

#[async_trait]
impl Tool for CollectData {
    fn spec(&self) -> ToolSpec {
        let properties: Map<String, Value> = self.fields.iter().map(|f| (f.name.clone(), f.json_schema())).collect();
        let required = self.names(true);
        let mut description = String::from(
            "Save details the customer gave you. Pass only the fields you have learnt (call again later for the \
             rest); each value is checked, and a rejected one comes back with the reason so you can ask again.",
        );
        if !required.is_empty() {
            description.push_str(&format!(" Required before you finish: {}.", required.join(", ")));
        }
        ToolSpec {
            name: COLLECT_DATA.into(),
            description,
            parameters: json!({ "type": "object", "properties": properties, "additionalProperties": false }),
        }
    }

    async fn call(&self, context: &ToolContext<'_>, arguments: &Value) -> ToolRun {
        let Some(given) = arguments.as_object() else {
            return ToolRun::error(
                "pass the values as an object of field names, e.g. {\"email\": \"ana@example.com\"}",
            );
        };
        let mut saved = Map::new();
        let mut rejected = Vec::new();
        for (name, value) in given {
            if value.is_null() {
                continue;
            }
            match self.field(name) {
                None => rejected
                    .push(format!("{name}: not a field to collect (the fields are {})", self.names(false).join(", "))),
                Some(field) => match field.check(value) {
                    Ok(value) => {
                        saved.insert(name.clone(), value);
                    }
                    Err(rule) => rejected.push(format!("{name}: {rule}")),
                },
            }
        }
        let missing: Vec<&str> = self
            .names(true)
            .into_iter()
            .filter(|name| !saved.contains_key(*name) && !context.conversation.variables.contains_key(*name))
            .collect();
        let saved_names: Vec<String> = saved.keys().cloned().collect();
        let mut run = if rejected.is_empty() && saved.is_empty() {
            ToolRun::error(format!("no values given: pass the fields you learnt ({})", self.names(false).join(", ")))
        } else if rejected.is_empty() {
            ToolRun::ok(json!({ "saved": saved_names, "missing_required": missing }))
        } else {
            let kept = if saved_names.is_empty() { "nothing".to_string() } else { saved_names.join(", ") };
            ToolRun::error(format!(
                "{}. Saved: {kept}. Ask the customer again for the rejected values.",
                rejected.join("; ")
            ))
        };
        run.variables = saved;
        run
    }
}
