//! JSON written the way Meta writes webhook bodies: every non-ASCII character `\u`-escaped
//! (UTF-16 surrogate pairs beyond the BMP). Signatures are computed over these exact bytes, so
//! a server that re-serialises before checking would fail — which is what tests must catch.

use serde::Serialize;
use serde_json::ser::{CharEscape, Formatter, Serializer};
use std::io;

struct AsciiFormatter;

impl Formatter for AsciiFormatter {
    fn write_string_fragment<W: ?Sized + io::Write>(&mut self, writer: &mut W, fragment: &str) -> io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if c.is_ascii() {
                continue;
            }
            writer.write_all(&fragment.as_bytes()[start..i])?;
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                write!(writer, "\\u{unit:04x}")?;
            }
            start = i + c.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }

    fn write_char_escape<W: ?Sized + io::Write>(&mut self, writer: &mut W, escape: CharEscape) -> io::Result<()> {
        serde_json::ser::CompactFormatter.write_char_escape(writer, escape)
    }
}

/// `value` as compact JSON with only ASCII bytes.
pub fn to_ascii_json<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    let mut serializer = Serializer::with_formatter(&mut out, AsciiFormatter);
    // serialising a serde_json-compatible value into a Vec cannot fail
    if value.serialize(&mut serializer).is_err() {
        out.clear();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_non_ascii_and_round_trips() {
        let value = serde_json::json!({ "text": "café 😀 \"q\"\n" });
        let bytes = to_ascii_json(&value);
        assert!(bytes.is_ascii());
        let text = String::from_utf8(bytes.clone()).expect("ascii is utf-8");
        assert!(text.contains("caf\\u00e9"), "{text}");
        assert!(text.contains("\\ud83d\\ude00"), "{text}");
        assert_eq!(serde_json::from_slice::<serde_json::Value>(&bytes).expect("valid json"), value);
    }
}
