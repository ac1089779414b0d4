//! Input the database cannot keep faithfully is refused at the door with 422 naming the field,
//! instead of failing later as a 500: PostgreSQL cannot store the NUL character (`\u0000`) in
//! text, and it keeps JSON numbers as exact decimals, so one near the limit of a 64-bit float
//! (`1.7976931348623155e308`) is stored but cannot be read back.

use serde_json::Value;

/// The largest magnitude a JSON number in a body may have.
const MAX_NUMBER: f64 = 1e300;

/// What is wrong with one field of a body.
pub struct Unstorable {
    /// The top-level field, or `body` when the problem is not under one.
    pub field: String,
    pub problem: &'static str,
}

const NUL: &str = "must not contain the NUL character (\\u0000)";
const HUGE: &str = "must not contain numbers beyond ±1e300";

/// The first field of a JSON body holding a NUL (in a key or a string, at any depth) or a
/// number beyond ±[`MAX_NUMBER`]. `None` when there is none, or when the body is not JSON
/// (which the JSON extractor reports itself).
pub fn json_unstorable(body: &[u8]) -> Option<Unstorable> {
    match serde_json::from_slice::<Value>(body).ok()? {
        Value::Object(fields) => fields.iter().find_map(|(key, value)| {
            if key.contains('\0') {
                return Some(Unstorable { field: "body".into(), problem: NUL });
            }
            problem_in(value).map(|problem| Unstorable { field: key.clone(), problem })
        }),
        other => problem_in(&other).map(|problem| Unstorable { field: "body".into(), problem }),
    }
}

fn problem_in(value: &Value) -> Option<&'static str> {
    match value {
        Value::String(s) if s.contains('\0') => Some(NUL),
        Value::Number(n) if n.as_f64().is_some_and(|x| x.abs() > MAX_NUMBER) => Some(HUGE),
        Value::Array(items) => items.iter().find_map(problem_in),
        Value::Object(fields) => {
            fields.iter().find_map(|(k, v)| if k.contains('\0') { Some(NUL) } else { problem_in(v) })
        }
        _ => None,
    }
}

/// The query parameter whose name or value holds a NUL (`%00`), if any.
pub fn query_parameter_with_nul(query: &str) -> Option<String> {
    if !query.contains("%00") {
        return None;
    }
    form_urlencoded::parse(query.as_bytes())
        .find(|(key, value)| key.contains('\0') || value.contains('\0'))
        .map(|(key, _)| if key.contains('\0') { "query".to_string() } else { key.into_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(body: &str) -> Option<String> {
        json_unstorable(body.as_bytes()).map(|u| u.field)
    }

    #[test]
    fn finds_the_field_the_database_cannot_keep() {
        assert_eq!(field(r#"{"name":"a\u0000b","x":1}"#).as_deref(), Some("name"));
        assert_eq!(field(r#"{"variables":{"k":["\u0000"]}}"#).as_deref(), Some("variables"));
        assert_eq!(field(r#"{"variables":{"k":1.7976931348623155e308}}"#).as_deref(), Some("variables"));
        assert_eq!(field(r#"{"variables":{"k":-2e301}}"#).as_deref(), Some("variables"));
        assert_eq!(field(r#"{"name":"a\\u0000b","n":1e299}"#), None, "an escaped backslash is no NUL");
        assert_eq!(field("not json"), None);
        assert_eq!(query_parameter_with_nul("customer=a%00b&limit=5").as_deref(), Some("customer"));
        assert_eq!(query_parameter_with_nul("customer=a%2500b"), None);
    }
}
