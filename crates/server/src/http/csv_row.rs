//! CSV rows written straight into an output buffer (RFC 4180, as the `csv` crate writes
//! them): fields separated by commas, rows ended by `\n`, a field quoted only when it holds a
//! comma, a quote, `\r` or `\n`, with its quotes doubled.

use std::fmt::Display;
use std::io::Write;

/// One row being written to `out`; [`CsvRow::end`] ends it.
pub struct CsvRow<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> CsvRow<'a> {
    pub fn new(out: &'a mut Vec<u8>) -> Self {
        Self { out, first: true }
    }

    fn separate(&mut self) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
    }

    /// A text field, quoted if it needs to be.
    pub fn text(&mut self, field: &str) -> &mut Self {
        self.separate();
        let bytes = field.as_bytes();
        if bytes.iter().any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n')) {
            self.out.push(b'"');
            for part in field.split_inclusive('"') {
                self.out.extend_from_slice(part.as_bytes());
                if part.ends_with('"') {
                    self.out.push(b'"');
                }
            }
            self.out.push(b'"');
        } else {
            self.out.extend_from_slice(bytes);
        }
        self
    }

    /// A field that is never quoted: numbers, ids, RFC 3339 times, names of states.
    pub fn plain(&mut self, field: impl Display) -> &mut Self {
        self.separate();
        // writing to a Vec cannot fail
        let _ = write!(self.out, "{field}");
        self
    }

    /// An empty field when `None`.
    pub fn optional(&mut self, field: Option<impl Display>) -> &mut Self {
        match field {
            Some(value) => self.plain(value),
            None => self.text(""),
        }
    }

    pub fn end(&mut self) {
        self.out.push(b'\n');
    }
}

#[cfg(test)]
mod tests {
    use super::CsvRow;

    fn parse(bytes: &[u8]) -> Vec<Vec<String>> {
        csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(bytes)
            .records()
            .map(|r| r.map(|r| r.iter().map(str::to_string).collect()).map_err(|e| e.to_string()))
            .collect::<Result<_, _>>()
            .unwrap_or_default()
    }

    #[test]
    fn fields_that_need_quotes_are_quoted_and_parse_back() {
        let tricky = [
            "plain",
            "",
            "a, b",
            "say \"hi\"",
            "\"",
            "\"\"",
            "line\nbreak",
            "cr\rlf\r\n",
            "ünïcödé — 日本語 🙂",
            "ends with quote\"",
            ",",
        ];
        let mut out = Vec::new();
        for pair in tricky.windows(2) {
            let mut row = CsvRow::new(&mut out);
            row.text(pair[0]).plain(42).text(pair[1]).optional(None::<i64>);
            row.end();
        }
        let parsed = parse(&out);
        assert_eq!(parsed.len(), tricky.len() - 1);
        for (row, pair) in parsed.iter().zip(tricky.windows(2)) {
            assert_eq!(row, &[pair[0].to_string(), "42".into(), pair[1].to_string(), String::new()]);
        }
    }

    #[test]
    fn rows_are_written_as_the_csv_crate_writes_them() {
        let fields = ["x", "a,b", "q\"q", "n\nn", "", "ü"];
        let mut ours = Vec::new();
        let mut row = CsvRow::new(&mut ours);
        for f in fields {
            row.text(f);
        }
        row.end();
        let mut theirs = csv::WriterBuilder::new().has_headers(false).from_writer(Vec::new());
        assert!(theirs.write_record(fields).is_ok());
        assert!(theirs.flush().is_ok());
        assert_eq!(String::from_utf8_lossy(&ours), String::from_utf8_lossy(theirs.get_ref()));
    }
}
