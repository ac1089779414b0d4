//! The post-conversation extraction schema an assistant defines: the fields to pull out of a
//! finished conversation (name, type, description), always alongside `status` and `summary`.
//! Stored as `{"fields": [{"name": "order_id", "type": "string", "description": "…"}]}`; `{}`
//! asks for `status` and `summary` only.

use crate::ValidationError;
use serde::Serialize;
use serde_json::Value;

/// What every extraction records, whatever the schema.
pub const ALWAYS_EXTRACTED: [&str; 2] = ["status", "summary"];
/// The values `status` takes.
pub const EXTRACTION_STATUSES: [&str; 4] = ["resolved", "unresolved", "handed_over", "abandoned"];
const MAX_FIELDS: usize = 30;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ExtractionFieldType {
    String,
    Number,
    Integer,
    Boolean,
}

impl ExtractionFieldType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Number => "number",
            Self::Integer => "integer",
            Self::Boolean => "boolean",
        }
    }

    /// Whether `value` has this type (`null`, "not mentioned", always fits).
    pub fn fits(self, value: &Value) -> bool {
        match self {
            _ if value.is_null() => true,
            Self::String => value.is_string(),
            Self::Number => value.is_number(),
            Self::Integer => value.is_i64() || value.is_u64(),
            Self::Boolean => value.is_boolean(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExtractionField {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ExtractionFieldType,
    pub description: String,
}

/// Reads an assistant's `extraction_schema`, with a message naming what is wrong.
pub fn parse_extraction_schema(schema: &Value) -> Result<Vec<ExtractionField>, ValidationError> {
    let fail = |message: String| ValidationError::new("extraction_schema", message);
    let Some(object) = schema.as_object() else {
        return Err(fail("extraction_schema must be a JSON object such as {\"fields\": [...]}".into()));
    };
    if let Some(unknown) = object.keys().find(|k| k.as_str() != "fields") {
        return Err(fail(format!("extraction_schema has an unknown key `{unknown}`: it holds only `fields`")));
    }
    let Some(fields) = object.get("fields") else { return Ok(Vec::new()) };
    let Some(fields) = fields.as_array() else {
        return Err(fail("extraction_schema.fields must be a list".into()));
    };
    if fields.len() > MAX_FIELDS {
        return Err(fail(format!("extraction_schema has more than {MAX_FIELDS} fields")));
    }
    let mut parsed: Vec<ExtractionField> = Vec::with_capacity(fields.len());
    for (i, field) in fields.iter().enumerate() {
        // the schema is stored as given, so every part of it must be exactly what it says
        let Some(field) = field.as_object() else {
            return Err(fail(format!("field {}: each field must be an object {{name, type, description}}", i + 1)));
        };
        if let Some(unknown) = field.keys().find(|k| !["name", "type", "description"].contains(&k.as_str())) {
            return Err(fail(format!(
                "field {}: unknown key `{unknown}`: a field holds only name, type and description",
                i + 1
            )));
        }
        let text = |key: &str| field.get(key).and_then(Value::as_str);
        let name = text("name").unwrap_or_default();
        if name.is_empty()
            || name.len() > 64
            || !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(fail(format!("field {}: name must be 1 to 64 of a-z, 0-9 and _", i + 1)));
        }
        if ALWAYS_EXTRACTED.contains(&name) || parsed.iter().any(|f| f.name == name) {
            return Err(fail(format!("field `{name}` is listed twice (status and summary are always extracted)")));
        }
        let kind = match text("type") {
            Some("string") => ExtractionFieldType::String,
            Some("number") => ExtractionFieldType::Number,
            Some("integer") => ExtractionFieldType::Integer,
            Some("boolean") => ExtractionFieldType::Boolean,
            _ => return Err(fail(format!("field `{name}`: type must be string, number, integer or boolean"))),
        };
        let description = match field.get("description") {
            None | Some(Value::Null) => "",
            Some(Value::String(description)) => description.as_str(),
            Some(_) => return Err(fail(format!("field `{name}`: description must be text"))),
        };
        if description.chars().count() > 500 {
            return Err(fail(format!("field `{name}`: description must be at most 500 characters")));
        }
        parsed.push(ExtractionField { name: name.to_string(), kind, description: description.to_string() });
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn schemas_parse_or_say_what_is_wrong() {
        assert_eq!(parse_extraction_schema(&json!({})).unwrap(), vec![]);
        let fields = parse_extraction_schema(&json!({ "fields": [
            { "name": "order_id", "type": "string", "description": "The order number" },
            { "name": "refund", "type": "boolean" },
        ] }))
        .unwrap();
        assert_eq!(fields.len(), 2);
        assert_eq!(fields[1].kind, ExtractionFieldType::Boolean);
        for (bad, says) in [
            (json!([]), "JSON object"),
            (json!({ "feilds": [] }), "unknown key `feilds`"),
            (json!({ "fields": [{ "name": "Order Id", "type": "string" }] }), "name must be"),
            (json!({ "fields": [{ "name": "summary", "type": "string" }] }), "always extracted"),
            (json!({ "fields": [{ "name": "a", "type": "date" }] }), "type must be"),
            (json!({ "fields": [{ "name": "a", "type": " string" }] }), "type must be"),
            (json!({ "fields": [{ "name": " a", "type": "string" }] }), "name must be"),
            (json!({ "fields": [{ "name": "a", "type": "string", "description": {} }] }), "description must be text"),
            (json!({ "fields": [{ "name": "a", "type": "string", "required": true }] }), "unknown key `required`"),
            (json!({ "fields": [3] }), "must be an object"),
        ] {
            let err = parse_extraction_schema(&bad).unwrap_err();
            assert!(err.message.contains(says), "{bad}: {}", err.message);
        }
    }

    #[test]
    fn types_fit_their_values() {
        assert!(ExtractionFieldType::Integer.fits(&json!(3)));
        assert!(!ExtractionFieldType::Integer.fits(&json!(3.5)));
        assert!(ExtractionFieldType::String.fits(&Value::Null));
        assert!(!ExtractionFieldType::Boolean.fits(&json!("yes")));
    }
}
