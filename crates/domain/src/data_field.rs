//! What an assistant's `collect_data` tool asks the customer for: the field definitions of the
//! assistant's `data_fields` setting (name, type, rules), checked when they are saved, and the
//! check of one collected value against its field.
//!
//! A definition is checked once, when the assistant is saved ([`parse_data_fields`]); a value is
//! checked each time the model submits it ([`DataField::check`]), and a rejected value comes
//! back as the rule it broke, in words the model can repeat to the customer.

use crate::{Email, PhoneNumber, ValidationError};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// At most this many fields per assistant: more would not fit a tool description well.
pub const MAX_DATA_FIELDS: usize = 30;

/// Variable names the `schedule_appointment` tool writes; a data field may not take them.
pub const RESERVED_VARIABLES: [&str; 2] = ["appointment_at", "appointment_id"];

/// What kind of value a field holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataFieldType {
    String,
    Number,
    Integer,
    Boolean,
    Email,
    Phone,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// One of `options`.
    Enum,
}

/// One field to collect. `min`/`max` bound a number or integer's value, or a string's length
/// in characters; `pattern` (a regular expression the whole string must match) applies to
/// strings only; `options` to enums only.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "DataFieldWire")]
pub struct DataField {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: DataFieldType,
    pub description: String,
    pub required: bool,
    pub options: Vec<String>,
    pub pattern: Option<String>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// The definition as written, before its rules are checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DataFieldWire {
    name: String,
    #[serde(rename = "type")]
    kind: DataFieldType,
    #[serde(default)]
    description: String,
    #[serde(default)]
    required: bool,
    #[serde(default)]
    options: Vec<String>,
    #[serde(default)]
    pattern: Option<String>,
    #[serde(default)]
    min: Option<f64>,
    #[serde(default)]
    max: Option<f64>,
}

impl TryFrom<DataFieldWire> for DataField {
    type Error = String;

    fn try_from(w: DataFieldWire) -> Result<Self, String> {
        let name_ok = (1..=40).contains(&w.name.len())
            && w.name.starts_with(|c: char| c.is_ascii_lowercase())
            && w.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !name_ok {
            return Err(format!(
                "name `{}` must be 1 to 40 of a-z, 0-9 and _, starting with a letter (it becomes a variable name)",
                w.name
            ));
        }
        if RESERVED_VARIABLES.contains(&w.name.as_str()) {
            return Err(format!("name `{}` is reserved for schedule_appointment: choose another", w.name));
        }
        if w.description.chars().count() > 300 {
            return Err("description must be at most 300 characters".into());
        }
        match w.kind {
            DataFieldType::Enum => {
                if w.options.is_empty() || w.options.len() > 50 {
                    return Err("an enum field needs 1 to 50 options".into());
                }
                for (i, option) in w.options.iter().enumerate() {
                    if option.trim().is_empty() || option.chars().count() > 100 {
                        return Err("each option must be 1 to 100 characters".into());
                    }
                    if w.options[..i].iter().any(|o| o.trim().eq_ignore_ascii_case(option.trim())) {
                        return Err(format!("option `{option}` is listed twice"));
                    }
                }
            }
            _ if !w.options.is_empty() => return Err("options apply only to fields of type enum".into()),
            _ => {}
        }
        if let Some(pattern) = &w.pattern {
            if w.kind != DataFieldType::String {
                return Err("pattern applies only to fields of type string".into());
            }
            if pattern.len() > 200 {
                return Err("pattern must be at most 200 characters".into());
            }
            if let Err(err) = regex_lite::Regex::new(pattern) {
                return Err(format!("pattern is not a valid regular expression: {err}"));
            }
        }
        if w.min.is_some() || w.max.is_some() {
            if !matches!(w.kind, DataFieldType::String | DataFieldType::Number | DataFieldType::Integer) {
                return Err("min and max apply only to fields of type string, number or integer".into());
            }
            if w.min.is_some_and(|v| !v.is_finite()) || w.max.is_some_and(|v| !v.is_finite()) {
                return Err("min and max must be finite numbers".into());
            }
            if let (Some(min), Some(max)) = (w.min, w.max) {
                if min > max {
                    return Err("min must not be greater than max".into());
                }
            }
            if w.kind == DataFieldType::String && (w.min.is_some_and(|v| v < 0.0) || w.max.is_some_and(|v| v < 0.0)) {
                return Err("a string's min and max are lengths and cannot be negative".into());
            }
        }
        Ok(Self {
            name: w.name,
            kind: w.kind,
            description: w.description,
            required: w.required,
            options: w.options,
            pattern: w.pattern,
            min: w.min,
            max: w.max,
        })
    }
}

/// Checks an assistant's `data_fields` setting: a list of field definitions with unique names.
/// The error names the field definition and the rule it breaks.
pub fn parse_data_fields(value: &Value) -> Result<Vec<DataField>, ValidationError> {
    let err = |message: String| ValidationError::new("data_fields", message);
    let Some(items) = value.as_array() else {
        return Err(err(
            "data_fields must be a list of fields such as [{\"name\": \"email\", \"type\": \"email\"}]".into()
        ));
    };
    if items.len() > MAX_DATA_FIELDS {
        return Err(err(format!("data_fields may hold at most {MAX_DATA_FIELDS} fields")));
    }
    let mut fields: Vec<DataField> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let field: DataField = serde_json::from_value(item.clone()).map_err(|e| {
            let label = item.get("name").and_then(Value::as_str).map(|n| format!(" ({n})")).unwrap_or_default();
            err(format!("data_fields[{i}]{label}: {e}"))
        })?;
        if fields.iter().any(|f| f.name == field.name) {
            return Err(err(format!("data_fields[{i}]: the name `{}` is used twice", field.name)));
        }
        fields.push(field);
    }
    Ok(fields)
}

impl DataField {
    /// The JSON-schema type the model is shown for this field.
    pub fn json_schema(&self) -> Value {
        let mut schema = serde_json::Map::new();
        let (kind, hint) = match self.kind {
            DataFieldType::String => ("string", None),
            DataFieldType::Number => ("number", None),
            DataFieldType::Integer => ("integer", None),
            DataFieldType::Boolean => ("boolean", None),
            DataFieldType::Email => ("string", Some("an e-mail address")),
            DataFieldType::Phone => ("string", Some("a phone number with its country code, e.g. +34 600 123 456")),
            DataFieldType::Date => ("string", Some("a date as YYYY-MM-DD")),
            DataFieldType::Enum => ("string", None),
        };
        schema.insert("type".into(), kind.into());
        let mut description = self.description.clone();
        if let Some(hint) = hint {
            if !description.is_empty() {
                description.push_str(" — ");
            }
            description.push_str(hint);
        }
        if !description.is_empty() {
            schema.insert("description".into(), description.into());
        }
        if self.kind == DataFieldType::Enum {
            schema.insert("enum".into(), self.options.clone().into());
        }
        if let Some(pattern) = &self.pattern {
            schema.insert("pattern".into(), pattern.clone().into());
        }
        let (min_key, max_key) =
            if self.kind == DataFieldType::String { ("minLength", "maxLength") } else { ("minimum", "maximum") };
        if let Some(min) = self.min {
            schema.insert(min_key.into(), number(min));
        }
        if let Some(max) = self.max {
            schema.insert(max_key.into(), number(max));
        }
        Value::Object(schema)
    }

    /// The value to store for `value`, normalised (a trimmed string, a lower-cased e-mail, an
    /// E.164 phone number, the option as configured), or the rule it breaks.
    pub fn check(&self, value: &Value) -> Result<Value, String> {
        match self.kind {
            DataFieldType::String => {
                let text = text_of(value).ok_or("must be text")?;
                let text = text.trim();
                if text.is_empty() {
                    return Err("must not be empty".into());
                }
                let length = text.chars().count() as f64;
                if let Some(min) = self.min.filter(|min| length < *min) {
                    return Err(format!("must be at least {} characters", number(min)));
                }
                if let Some(max) = self.max.filter(|max| length > *max) {
                    return Err(format!("must be at most {} characters", number(max)));
                }
                if length > 1000.0 {
                    return Err("must be at most 1000 characters".into());
                }
                if let Some(pattern) = &self.pattern {
                    let whole = regex_lite::Regex::new(&format!("^(?:{pattern})$"))
                        .map_err(|_| "cannot be checked: the field's pattern is invalid".to_string())?;
                    if !whole.is_match(text) {
                        return Err(format!("does not match the required format {pattern}"));
                    }
                }
                Ok(text.into())
            }
            DataFieldType::Number => {
                let n = number_of(value).ok_or("must be a number")?;
                self.check_range(n)?;
                Ok(number(n))
            }
            DataFieldType::Integer => {
                let n =
                    number_of(value).filter(|n| n.fract() == 0.0 && n.abs() < 9e15).ok_or("must be a whole number")?;
                self.check_range(n)?;
                Ok(number(n))
            }
            DataFieldType::Boolean => match value {
                Value::Bool(b) => Ok(Value::Bool(*b)),
                Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                    "true" | "yes" => Ok(Value::Bool(true)),
                    "false" | "no" => Ok(Value::Bool(false)),
                    _ => Err("must be true or false".into()),
                },
                _ => Err("must be true or false".into()),
            },
            DataFieldType::Email => {
                let text = value.as_str().ok_or("not an e-mail address")?;
                Email::parse(text).map(|e| e.as_str().into()).map_err(|_| "not an e-mail address".into())
            }
            DataFieldType::Phone => {
                let text = text_of(value).ok_or("not a phone number")?;
                PhoneNumber::parse(&text)
                    .map(|p| p.as_str().into())
                    .map_err(|e| format!("not a phone number ({})", e.message))
            }
            DataFieldType::Date => {
                let text = value.as_str().ok_or("not a date: use YYYY-MM-DD")?.trim();
                let ok = text.len() == 10 && text.parse::<jiff::civil::Date>().is_ok();
                if ok {
                    Ok(text.into())
                } else {
                    Err("not a date: use YYYY-MM-DD".into())
                }
            }
            DataFieldType::Enum => {
                let text = text_of(value).unwrap_or_default();
                self.options
                    .iter()
                    .find(|o| o.trim().eq_ignore_ascii_case(text.trim()))
                    .map(|o| o.clone().into())
                    .ok_or_else(|| format!("must be one of: {}", self.options.join(", ")))
            }
        }
    }

    fn check_range(&self, n: f64) -> Result<(), String> {
        if let Some(min) = self.min.filter(|min| n < *min) {
            return Err(format!("must be at least {}", number(min)));
        }
        if let Some(max) = self.max.filter(|max| n > *max) {
            return Err(format!("must be at most {}", number(max)));
        }
        Ok(())
    }
}

fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn number_of(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|n| n.is_finite())
}

/// A whole number as a JSON integer (so `3` is not shown as `3.0`), anything else as a float.
fn number(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9e15 {
        Value::from(n as i64)
    } else {
        Value::from(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field(definition: Value) -> DataField {
        serde_json::from_value(definition).unwrap()
    }

    #[test]
    fn definitions_are_checked() {
        let ok = json!([
            {"name": "email", "type": "email", "required": true},
            {"name": "size", "type": "enum", "options": ["S", "M"]},
            {"name": "zip", "type": "string", "pattern": "[0-9]{5}"},
            {"name": "guests", "type": "integer", "min": 1, "max": 12},
        ]);
        assert_eq!(parse_data_fields(&ok).unwrap().len(), 4);
        for (bad, expected) in [
            (json!({"a": 1}), "must be a list"),
            (json!([{"name": "Email", "type": "email"}]), "a-z"),
            (json!([{"name": "x", "type": "colour"}]), "unknown variant"),
            (json!([{"name": "x", "type": "enum"}]), "1 to 50 options"),
            (json!([{"name": "x", "type": "string", "options": ["a"]}]), "only to fields of type enum"),
            (json!([{"name": "x", "type": "number", "pattern": "a"}]), "only to fields of type string"),
            (json!([{"name": "x", "type": "string", "pattern": "(unclosed"}]), "not a valid regular expression"),
            (json!([{"name": "x", "type": "number", "min": 5, "max": 1}]), "greater than max"),
            (json!([{"name": "x", "type": "boolean", "min": 1}]), "min and max apply only"),
            (json!([{"name": "x", "type": "email"}, {"name": "x", "type": "phone"}]), "used twice"),
            (json!([{"name": "appointment_at", "type": "string"}]), "reserved"),
            (json!([{"name": "x", "type": "string", "colour": "red"}]), "unknown field"),
        ] {
            let err = parse_data_fields(&bad).unwrap_err();
            assert_eq!(err.field, "data_fields");
            assert!(err.message.contains(expected), "{bad}: {}", err.message);
        }
    }

    #[test]
    fn values_are_checked_and_normalised() {
        let email = field(json!({"name": "email", "type": "email"}));
        assert_eq!(email.check(&json!(" Ana@Example.COM ")), Ok(json!("ana@example.com")));
        assert_eq!(email.check(&json!("ana at example")), Err("not an e-mail address".into()));
        let phone = field(json!({"name": "phone", "type": "phone"}));
        assert_eq!(phone.check(&json!("+34 600 123 456")), Ok(json!("+34600123456")));
        assert!(phone.check(&json!("call me")).unwrap_err().starts_with("not a phone number"));
        let guests = field(json!({"name": "guests", "type": "integer", "min": 1, "max": 12}));
        assert_eq!(guests.check(&json!("4")), Ok(json!(4)));
        assert_eq!(guests.check(&json!(13)), Err("must be at most 12".into()));
        assert_eq!(guests.check(&json!(2.5)), Err("must be a whole number".into()));
        let price = field(json!({"name": "budget", "type": "number", "min": 0.5}));
        assert_eq!(price.check(&json!(0.75)), Ok(json!(0.75)));
        assert_eq!(price.check(&json!(0.25)), Err("must be at least 0.5".into()));
        let size = field(json!({"name": "size", "type": "enum", "options": ["Small", "Large"]}));
        assert_eq!(size.check(&json!("small")), Ok(json!("Small")));
        assert_eq!(size.check(&json!("huge")), Err("must be one of: Small, Large".into()));
        let zip = field(json!({"name": "zip", "type": "string", "pattern": "[0-9]{5}", "max": 5}));
        assert_eq!(zip.check(&json!("28001")), Ok(json!("28001")));
        assert!(zip.check(&json!("2800x")).unwrap_err().contains("format"));
        let date = field(json!({"name": "birthday", "type": "date"}));
        assert_eq!(date.check(&json!("2026-02-28")), Ok(json!("2026-02-28")));
        assert!(date.check(&json!("2026-02-30")).is_err());
        let yes = field(json!({"name": "newsletter", "type": "boolean"}));
        assert_eq!(yes.check(&json!("yes")), Ok(json!(true)));
        assert!(yes.check(&json!(1)).is_err());
    }

    #[test]
    fn schema_shown_to_the_model() {
        let zip = field(json!({"name": "zip", "type": "string", "description": "Postcode", "pattern": "[0-9]{5}"}));
        assert_eq!(zip.json_schema(), json!({"type": "string", "description": "Postcode", "pattern": "[0-9]{5}"}));
        let size = field(json!({"name": "size", "type": "enum", "options": ["S", "M"]}));
        assert_eq!(size.json_schema(), json!({"type": "string", "enum": ["S", "M"]}));
        let guests = field(json!({"name": "guests", "type": "integer", "min": 1}));
        assert_eq!(guests.json_schema(), json!({"type": "integer", "minimum": 1}));
    }

    #[test]
    fn definitions_round_trip_through_json() {
        let fields = parse_data_fields(&json!([{"name": "zip", "type": "string", "pattern": "[0-9]{5}"}])).unwrap();
        let stored = serde_json::to_value(&fields).unwrap();
        assert_eq!(parse_data_fields(&stored).unwrap(), fields);
    }
}
