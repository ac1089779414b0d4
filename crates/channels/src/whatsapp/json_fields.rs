//! Reading individual fields out of Meta's loosely typed JSON.
//!
//! Meta's payloads are walked as `serde_json::Value` rather than strict structs so that one
//! odd field never costs a whole batch. This module owns the few tolerant readers that walk
//! uses: strings that must be non-empty, ids that are sometimes numbers, and the unix-seconds
//! timestamps (sent as strings, occasionally as numbers). Nothing here panics on any input.

use serde_json::{Map, Value};
use time::OffsetDateTime;

/// A JSON object's fields.
pub(crate) type Object = Map<String, Value>;

/// `obj[key]` when it is a string.
pub(crate) fn str_field<'a>(obj: &'a Object, key: &str) -> Option<&'a str> {
    obj.get(key).and_then(Value::as_str)
}

/// `obj[key]` when it is a non-empty string, owned.
pub(crate) fn text_field(obj: &Object, key: &str) -> Option<String> {
    str_field(obj, key).filter(|s| !s.is_empty()).map(str::to_owned)
}

/// `obj[key]` as an identifier: a non-empty string, or an integer Meta sent as a number.
pub(crate) fn id_field(obj: &Object, key: &str) -> Option<String> {
    match obj.get(key)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

/// `obj[key]` when it is an object.
pub(crate) fn object_field<'a>(obj: &'a Object, key: &str) -> Option<&'a Object> {
    obj.get(key).and_then(Value::as_object)
}

/// `obj[key]` when it is `true`.
pub(crate) fn flag(obj: &Object, key: &str) -> bool {
    obj.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// The elements of `obj[key]` when it is an array; nothing otherwise.
pub(crate) fn array_field<'a>(obj: &'a Object, key: &str) -> &'a [Value] {
    obj.get(key).and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[])
}

/// A unix-seconds timestamp (`"1697043223"` or `1697043223`) as UTC time, or why not.
pub(crate) fn unix_timestamp(value: Option<&Value>) -> Result<OffsetDateTime, String> {
    let seconds = match value {
        None | Some(Value::Null) => return Err("`timestamp` is missing".to_owned()),
        Some(Value::String(s)) => {
            s.trim().parse::<i64>().map_err(|_| format!("`timestamp` {s:?} is not a whole number of unix seconds"))?
        }
        Some(Value::Number(n)) => {
            n.as_i64().ok_or_else(|| format!("`timestamp` {n} is not a whole number of unix seconds"))?
        }
        Some(other) => return Err(format!("`timestamp` is {}, not unix seconds", kind_of(other))),
    };
    OffsetDateTime::from_unix_timestamp(seconds).map_err(|_| format!("`timestamp` {seconds} is out of range"))
}

/// A short name for a JSON value's type, for error messages.
pub(crate) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn timestamps_from_strings_and_numbers() {
        let t = unix_timestamp(Some(&json!("1697043223"))).expect("parses");
        assert_eq!(t.unix_timestamp(), 1_697_043_223);
        assert_eq!(unix_timestamp(Some(&json!(1731705721))).expect("parses").unix_timestamp(), 1_731_705_721);
        for bad in [json!(""), json!("12a"), json!(1.5), json!(true), json!(i64::MAX), json!([1])] {
            assert!(unix_timestamp(Some(&bad)).is_err(), "{bad}");
        }
        assert!(unix_timestamp(None).is_err());
    }

    #[test]
    fn ids_accept_strings_and_integers_only() {
        let obj = json!({"a": "x", "b": 12, "c": "", "d": 1.5, "e": null});
        let obj = obj.as_object().expect("object");
        assert_eq!(id_field(obj, "a").as_deref(), Some("x"));
        assert_eq!(id_field(obj, "b").as_deref(), Some("12"));
        for key in ["c", "d", "e", "missing"] {
            assert_eq!(id_field(obj, key), None, "{key}");
        }
    }
}
