//! Rows that SQLite packs into one JSON array for a bulk read.
//!
//! sqlx's SQLite driver steps a statement on a thread of its own and hands every row across a
//! channel with each of its values copied, so a read of hundreds of thousands of rows spends
//! most of its time handing rows over rather than reading them. A bulk read (the message
//! export) instead asks SQLite for a single value: its rows as `[[v1, v2, …], …]`, built in C
//! by `json_array` and `group_concat`. [`PackedRow`] reads such a row by column name, so the
//! shared row mapping in `rows` applies to it unchanged. BLOB columns (the uuids) are packed as
//! `hex(…)` and JSON columns as `json(…)`, since JSON holds neither a BLOB nor a nested
//! document stored as text.

use super::from_micros;
use crate::rows::RowExt;
use crate::{Result, StoreError};
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

/// How a column is packed into the JSON row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Packing {
    /// Text, numbers and NULL, as they are.
    Plain,
    /// A BLOB uuid, as hex text.
    Uuid,
    /// Text holding a JSON document (or NULL), as the document.
    Json,
}

/// The columns of a packed read: each one's name (as `RowExt` asks for it), the SQL that
/// gives it, and how it is packed.
pub(super) struct PackedColumns {
    names: Vec<&'static str>,
    expressions: Vec<String>,
}

impl PackedColumns {
    pub(super) fn new(columns: &[(&'static str, &str, Packing)]) -> Self {
        let names = columns.iter().map(|(name, _, _)| *name).collect();
        let expressions = columns
            .iter()
            .map(|(_, sql, packing)| match packing {
                Packing::Plain => (*sql).to_string(),
                Packing::Uuid => format!("hex({sql})"),
                Packing::Json => format!("json({sql})"),
            })
            .collect();
        Self { names, expressions }
    }

    /// `json_array(…)` of the columns: the packed row, one per row of the inner query.
    pub(super) fn json_array(&self) -> String {
        format!("json_array({})", self.expressions.join(", "))
    }

    /// The rows of a packed value (`[[…], …]`, or NULL for no rows), each checked to have every column.
    pub(super) fn unpack(&self, packed: Option<&str>) -> Result<Vec<PackedRow<'_>>> {
        let Some(packed) = packed else { return Ok(Vec::new()) };
        let rows: Vec<Vec<Value>> =
            serde_json::from_str(packed).map_err(|e| StoreError::Corrupt(format!("packed rows: {e}")))?;
        rows.into_iter()
            .map(|values| {
                if values.len() == self.names.len() {
                    Ok(PackedRow { names: &self.names, values })
                } else {
                    Err(StoreError::Corrupt(format!(
                        "a packed row has {} values, not {}",
                        values.len(),
                        self.names.len()
                    )))
                }
            })
            .collect()
    }
}

/// One row of a packed read.
pub(super) struct PackedRow<'c> {
    names: &'c [&'static str],
    values: Vec<Value>,
}

impl PackedRow<'_> {
    fn value(&self, col: &str) -> Result<&Value> {
        self.names
            .iter()
            .position(|name| *name == col)
            .map(|i| &self.values[i])
            .ok_or_else(|| StoreError::Corrupt(format!("no column `{col}` in the packed row")))
    }

    fn opt<T>(&self, col: &str, read: impl FnOnce(&Value) -> Option<T>) -> Result<Option<T>> {
        match self.value(col)? {
            Value::Null => Ok(None),
            value => read(value).map(Some).ok_or_else(|| mistyped(col, value)),
        }
    }

    fn required<T>(&self, col: &str, read: impl FnOnce(&Value) -> Option<T>) -> Result<T> {
        let value = self.value(col)?;
        read(value).ok_or_else(|| mistyped(col, value))
    }
}

fn mistyped(col: &str, value: &Value) -> StoreError {
    StoreError::Corrupt(format!("packed column `{col}` holds {value}"))
}

fn hex_uuid(value: &Value) -> Option<Uuid> {
    value.as_str().and_then(|hex| Uuid::try_parse(hex).ok())
}

fn text(value: &Value) -> Option<String> {
    value.as_str().map(str::to_owned)
}

impl RowExt for PackedRow<'_> {
    fn uuid(&self, col: &str) -> Result<Uuid> {
        self.required(col, hex_uuid)
    }
    fn opt_uuid(&self, col: &str) -> Result<Option<Uuid>> {
        self.opt(col, hex_uuid)
    }
    fn time(&self, col: &str) -> Result<OffsetDateTime> {
        from_micros(self.int(col)?)
    }
    fn opt_time(&self, col: &str) -> Result<Option<OffsetDateTime>> {
        self.opt_int(col)?.map(from_micros).transpose()
    }
    fn text(&self, col: &str) -> Result<String> {
        self.required(col, text)
    }
    fn opt_text(&self, col: &str) -> Result<Option<String>> {
        self.opt(col, text)
    }
    fn int(&self, col: &str) -> Result<i64> {
        self.required(col, Value::as_i64)
    }
    fn opt_int(&self, col: &str) -> Result<Option<i64>> {
        self.opt(col, Value::as_i64)
    }
    fn opt_float(&self, col: &str) -> Result<Option<f64>> {
        self.opt(col, Value::as_f64)
    }
    fn boolean(&self, col: &str) -> Result<bool> {
        self.required(col, |v| v.as_i64().map(|i| i != 0).or_else(|| v.as_bool()))
    }
    fn json(&self, col: &str) -> Result<Value> {
        Ok(self.value(col)?.clone())
    }
    fn bytes(&self, col: &str) -> Result<Vec<u8>> {
        Err(StoreError::Corrupt(format!("packed column `{col}` cannot hold bytes")))
    }
}
