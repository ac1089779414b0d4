//! Text from a provider, made storable. PostgreSQL holds the NUL character (U+0000) neither
//! in `text` nor in `jsonb`, so a webhook carrying one would fail the transaction of its whole
//! batch — and the provider would post it again and again. The parsers pass what they read
//! through here: a NUL becomes U+FFFD (the replacement character), the same on every backend.
//! Signatures are checked on what arrived, before this.

use serde_json::Value;

/// What a NUL becomes.
pub const NUL_REPLACEMENT: char = '\u{FFFD}';

/// `text` with every NUL replaced (untouched, and not copied, when it has none).
pub fn make_storable(text: &mut String) {
    if text.contains('\0') {
        *text = text.replace('\0', &NUL_REPLACEMENT.to_string());
    }
}

/// Every string of `value`, keys included, made storable.
pub fn make_json_storable(value: &mut Value) {
    match value {
        Value::String(text) => make_storable(text),
        Value::Array(items) => items.iter_mut().for_each(make_json_storable),
        Value::Object(fields) => {
            if fields.keys().any(|key| key.contains('\0')) {
                *fields = std::mem::take(fields)
                    .into_iter()
                    .map(|(mut key, value)| {
                        make_storable(&mut key);
                        (key, value)
                    })
                    .collect();
            }
            fields.values_mut().for_each(make_json_storable);
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nul_becomes_the_replacement_character_everywhere_in_a_document() {
        let mut value = json!({ "a\u{0}": ["x\u{0}y", { "n": 1, "t": "\u{0}" }], "ok": "plain" });
        make_json_storable(&mut value);
        assert_eq!(value, json!({ "a\u{FFFD}": ["x\u{FFFD}y", { "n": 1, "t": "\u{FFFD}" }], "ok": "plain" }));
    }

    #[test]
    fn text_without_nul_is_left_alone() {
        let mut text = String::from("ünïcödé 🙂");
        make_storable(&mut text);
        assert_eq!(text, "ünïcödé 🙂");
    }
}
