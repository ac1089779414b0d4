//! The JSON Schema subset an HTTP tool declares its parameters in, and the check of a model's
//! arguments against it.
//!
//! Accepted: an object schema at the root (`type: object`, `properties`, `required`,
//! `additionalProperties: bool`, `description`); each property (and array `items`, and nested
//! objects) with `type` one of object, string, number, integer, boolean, array, plus
//! `description`, `enum`, `minLength`/`maxLength` (strings), `minimum`/`maximum` (numbers),
//! `items`/`minItems`/`maxItems` (arrays) and `default`/`title`/`examples` (shown to the model,
//! not enforced). Anything else is refused when the tool is saved, so what the model is shown
//! is exactly what confab enforces before a call.

use crate::ValidationError;
use serde::Serialize;
use serde_json::{Map, Value};

const FIELD: &str = "parameters";
const TYPES: [&str; 6] = ["object", "string", "number", "integer", "boolean", "array"];
const ANNOTATIONS: [&str; 4] = ["description", "default", "title", "examples"];

/// A checked parameter schema (see the module docs for the subset).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(transparent)]
pub struct ParameterSchema(Value);

impl ParameterSchema {
    /// Checks that `schema` is an object schema within the supported subset.
    pub fn parse(schema: Value) -> Result<Self, ValidationError> {
        if schema.get("type").and_then(Value::as_str) != Some("object") {
            return Err(invalid("", "the root must be {\"type\": \"object\", \"properties\": {…}}"));
        }
        check_node(&schema, "")?;
        Ok(Self(schema))
    }

    /// `{"type": "object", "properties": {}}`: a tool that takes no arguments.
    pub fn empty() -> Self {
        Self(serde_json::json!({ "type": "object", "properties": {} }))
    }

    pub fn as_value(&self) -> &Value {
        &self.0
    }

    /// The top-level property names.
    pub fn property_names(&self) -> impl Iterator<Item = &str> {
        self.0.get("properties").and_then(Value::as_object).into_iter().flat_map(|p| p.keys().map(String::as_str))
    }

    /// Checks a model's arguments; the error says what is wrong in words the model can act on.
    pub fn validate(&self, arguments: &Value) -> Result<(), String> {
        validate_node(&self.0, arguments, "arguments")
    }
}

fn invalid(path: &str, message: impl std::fmt::Display) -> ValidationError {
    let at = if path.is_empty() { String::new() } else { format!(" at `{path}`") };
    ValidationError::new(FIELD, format!("parameters{at}: {message}"))
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn check_node(node: &Value, path: &str) -> Result<(), ValidationError> {
    let Some(object) = node.as_object() else {
        return Err(invalid(path, "a schema must be a JSON object"));
    };
    let Some(kind) = object.get("type").and_then(Value::as_str).filter(|t| TYPES.contains(t)) else {
        return Err(invalid(path, format!("`type` must be one of {}", TYPES.join(", "))));
    };
    let allowed: &[&str] = match kind {
        "object" => &["type", "properties", "required", "additionalProperties"],
        "string" => &["type", "enum", "minLength", "maxLength"],
        "number" | "integer" => &["type", "enum", "minimum", "maximum"],
        "boolean" => &["type", "enum"],
        _ => &["type", "items", "minItems", "maxItems"],
    };
    for key in object.keys() {
        if !allowed.contains(&key.as_str()) && !ANNOTATIONS.contains(&key.as_str()) {
            return Err(invalid(
                path,
                format!(
                    "`{key}` is not supported for type {kind} (supported: {}, {})",
                    allowed.join(", "),
                    ANNOTATIONS.join(", ")
                ),
            ));
        }
    }
    if let Some(description) = object.get("description") {
        if !description.is_string() {
            return Err(invalid(path, "`description` must be a string"));
        }
    }
    for key in ["minLength", "maxLength", "minItems", "maxItems"] {
        if object.get(key).is_some_and(|v| v.as_u64().is_none()) {
            return Err(invalid(path, format!("`{key}` must be a whole number ≥ 0")));
        }
    }
    for key in ["minimum", "maximum"] {
        if object.get(key).is_some_and(|v| !v.is_number()) {
            return Err(invalid(path, format!("`{key}` must be a number")));
        }
    }
    if let Some(options) = object.get("enum") {
        let ok = options.as_array().is_some_and(|o| !o.is_empty() && o.iter().all(|v| matches_type(kind, v)));
        if !ok {
            return Err(invalid(path, format!("`enum` must be a non-empty list of {kind} values")));
        }
    }
    match kind {
        "object" => {
            let properties = match object.get("properties") {
                None => &Map::new(),
                Some(Value::Object(p)) => p,
                Some(_) => return Err(invalid(path, "`properties` must be an object of name → schema")),
            };
            for (name, property) in properties {
                if name.is_empty() {
                    return Err(invalid(path, "property names must not be empty"));
                }
                check_node(property, &join(path, name))?;
            }
            if let Some(required) = object.get("required") {
                let Some(required) = required.as_array() else {
                    return Err(invalid(path, "`required` must be a list of property names"));
                };
                for name in required {
                    match name.as_str() {
                        Some(name) if properties.contains_key(name) => {}
                        _ => {
                            return Err(invalid(path, format!("`required` names {name}, which is not in `properties`")))
                        }
                    }
                }
            }
            if object.get("additionalProperties").is_some_and(|v| !v.is_boolean()) {
                return Err(invalid(path, "`additionalProperties` must be true or false"));
            }
        }
        "array" => {
            if let Some(items) = object.get("items") {
                check_node(items, &join(path, "[]"))?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn matches_type(kind: &str, value: &Value) -> bool {
    match kind {
        "object" => value.is_object(),
        "string" => value.is_string(),
        "number" => value.is_number(),
        "integer" => value.is_i64() || value.is_u64() || value.as_f64().is_some_and(|f| f.fract() == 0.0),
        "boolean" => value.is_boolean(),
        "array" => value.is_array(),
        _ => false,
    }
}

fn validate_node(schema: &Value, value: &Value, path: &str) -> Result<(), String> {
    let kind = schema.get("type").and_then(Value::as_str).unwrap_or("object");
    if !matches_type(kind, value) {
        let article = if kind.starts_with(['a', 'e', 'i', 'o']) { "an" } else { "a" };
        return Err(format!("`{path}` must be {article} {kind}"));
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array) {
        if !options.contains(value) {
            let listed = options.iter().map(Value::to_string).collect::<Vec<_>>().join(", ");
            return Err(format!("`{path}` must be one of {listed}"));
        }
    }
    match value {
        Value::String(text) => {
            let length = text.chars().count() as u64;
            if let Some(min) = schema.get("minLength").and_then(Value::as_u64).filter(|min| length < *min) {
                return Err(format!("`{path}` must be at least {min} characters"));
            }
            if let Some(max) = schema.get("maxLength").and_then(Value::as_u64).filter(|max| length > *max) {
                return Err(format!("`{path}` must be at most {max} characters"));
            }
        }
        Value::Number(number) => {
            let n = number.as_f64().unwrap_or(f64::NAN);
            if let Some(min) = schema.get("minimum").and_then(Value::as_f64).filter(|min| n < *min) {
                return Err(format!("`{path}` must be at least {min}"));
            }
            if let Some(max) = schema.get("maximum").and_then(Value::as_f64).filter(|max| n > *max) {
                return Err(format!("`{path}` must be at most {max}"));
            }
        }
        Value::Array(items) => {
            let count = items.len() as u64;
            if let Some(min) = schema.get("minItems").and_then(Value::as_u64).filter(|min| count < *min) {
                return Err(format!("`{path}` must have at least {min} items"));
            }
            if let Some(max) = schema.get("maxItems").and_then(Value::as_u64).filter(|max| count > *max) {
                return Err(format!("`{path}` must have at most {max} items"));
            }
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    validate_node(item_schema, item, &format!("{path}[{i}]"))?;
                }
            }
        }
        Value::Object(fields) => {
            let empty = Map::new();
            let properties = schema.get("properties").and_then(Value::as_object).unwrap_or(&empty);
            for name in schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str)
            {
                if !fields.contains_key(name) {
                    return Err(format!("`{}` is required", join_value_path(path, name)));
                }
            }
            let closed = schema.get("additionalProperties") == Some(&Value::Bool(false));
            for (name, field) in fields {
                match properties.get(name) {
                    Some(property) => validate_node(property, field, &join_value_path(path, name))?,
                    None if closed => {
                        return Err(format!("`{}` is not a parameter of this tool", join_value_path(path, name)))
                    }
                    None => {}
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn join_value_path(path: &str, name: &str) -> String {
    if path == "arguments" {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn order_schema() -> ParameterSchema {
        ParameterSchema::parse(json!({
            "type": "object",
            "properties": {
                "order_id": { "type": "string", "minLength": 3, "maxLength": 10, "description": "The order number" },
                "quantity": { "type": "integer", "minimum": 1, "maximum": 5 },
                "speed": { "type": "string", "enum": ["normal", "express"] },
                "tags": { "type": "array", "items": { "type": "string" }, "maxItems": 2 },
                "gift": { "type": "boolean" },
            },
            "required": ["order_id"],
            "additionalProperties": false,
        }))
        .unwrap()
    }

    #[test]
    fn arguments_are_checked_against_the_schema() {
        let schema = order_schema();
        assert!(schema.validate(&json!({ "order_id": "A-123" })).is_ok());
        assert!(schema.validate(&json!({ "order_id": "A-123", "quantity": 5, "speed": "express" })).is_ok());
        assert_eq!(schema.validate(&json!({})).unwrap_err(), "`order_id` is required");
        assert_eq!(schema.validate(&json!({ "order_id": 7 })).unwrap_err(), "`order_id` must be a string");
        assert!(schema.validate(&json!({ "order_id": "A1" })).unwrap_err().contains("at least 3"));
        assert!(schema.validate(&json!({ "order_id": "A-123", "quantity": 6 })).unwrap_err().contains("at most 5"));
        assert!(schema.validate(&json!({ "order_id": "A-123", "quantity": 1.5 })).unwrap_err().contains("integer"));
        assert!(schema.validate(&json!({ "order_id": "A-123", "speed": "slow" })).unwrap_err().contains("one of"));
        assert!(schema.validate(&json!({ "order_id": "A-123", "tags": ["a", 1] })).unwrap_err().contains("tags[1]"));
        assert!(schema.validate(&json!({ "order_id": "A-123", "x": 1 })).unwrap_err().contains("not a parameter"));
        assert!(schema.validate(&json!("text")).unwrap_err().contains("must be an object"));
    }

    #[test]
    fn schemas_outside_the_subset_are_refused_with_where_and_why() {
        for (schema, expected) in [
            (json!({ "type": "string" }), "root must be"),
            (json!({ "type": "object", "properties": { "a": { "type": "string", "pattern": "x" } } }), "`pattern`"),
            (json!({ "type": "object", "properties": { "a": { "type": "date" } } }), "`type` must be one of"),
            (json!({ "type": "object", "properties": {}, "required": ["b"] }), "not in `properties`"),
            (json!({ "type": "object", "properties": { "a": { "type": "integer", "enum": ["x"] } } }), "`enum`"),
            (json!({ "type": "object", "oneOf": [] }), "`oneOf`"),
        ] {
            let err = ParameterSchema::parse(schema).unwrap_err();
            assert_eq!(err.field, "parameters");
            assert!(err.message.contains(expected), "{} does not mention {expected}", err.message);
        }
        assert!(ParameterSchema::parse(ParameterSchema::empty().as_value().clone()).is_ok());
    }
}
