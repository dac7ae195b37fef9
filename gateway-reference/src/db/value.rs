//! The values that cross the [`Db`](super::Db) boundary: parameters and row cells.

use super::DbError;

/// A parameter or a cell. The gateway's tables hold only these three types: integers
/// (`BIGINT`; booleans as 0/1), text (`TEXT`; JSON documents and RFC 3339 timestamps as
/// text), and NULL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// A 64-bit integer (`BIGINT` on PostgreSQL, `INTEGER` on SQLite).
    Int(i64),
    /// Text.
    Text(String),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<u64> for Value {
    /// Saturates at `i64::MAX` (sequence numbers never get there).
    fn from(v: u64) -> Self {
        Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}

impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Int(i64::from(v))
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Int(i64::from(v))
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_string())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}

impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(v.clone())
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// One result row: its cells in the order of the SELECT list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row(pub(super) Vec<Value>);

impl Row {
    /// A row of these cells (for tests and for backends of [`Db`](super::Db)).
    pub fn new(cells: Vec<Value>) -> Self {
        Row(cells)
    }

    /// The cells.
    pub fn cells(&self) -> &[Value] {
        &self.0
    }

    fn cell(&self, i: usize) -> Result<&Value, DbError> {
        self.0
            .get(i)
            .ok_or_else(|| DbError::Decode(format!("the row has no column {i}")))
    }

    /// The integer in column `i`; an error for NULL or text.
    pub fn int(&self, i: usize) -> Result<i64, DbError> {
        match self.cell(i)? {
            Value::Int(v) => Ok(*v),
            other => Err(DbError::Decode(format!(
                "column {i}: expected an integer, found {other:?}"
            ))),
        }
    }

    /// The integer in column `i`, or `None` for NULL.
    pub fn opt_int(&self, i: usize) -> Result<Option<i64>, DbError> {
        match self.cell(i)? {
            Value::Null => Ok(None),
            _ => self.int(i).map(Some),
        }
    }

    /// The boolean (an integer, non-zero is true) in column `i`.
    pub fn bool(&self, i: usize) -> Result<bool, DbError> {
        Ok(self.int(i)? != 0)
    }

    /// The text in column `i`; an error for NULL or an integer.
    pub fn text(&self, i: usize) -> Result<String, DbError> {
        match self.cell(i)? {
            Value::Text(v) => Ok(v.clone()),
            other => Err(DbError::Decode(format!(
                "column {i}: expected text, found {other:?}"
            ))),
        }
    }

    /// The text in column `i`, or `None` for NULL.
    pub fn opt_text(&self, i: usize) -> Result<Option<String>, DbError> {
        match self.cell(i)? {
            Value::Null => Ok(None),
            _ => self.text(i).map(Some),
        }
    }

    /// The JSON document stored as text in column `i`.
    pub fn json<T: serde::de::DeserializeOwned>(&self, i: usize) -> Result<T, DbError> {
        let text = self.text(i)?;
        serde_json::from_str(&text)
            .map_err(|e| DbError::Decode(format!("column {i}: invalid JSON: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_and_accessors() {
        let row = Row::new(vec![
            Value::from(7_i64),
            Value::from(true),
            Value::from("x"),
            Value::from(None::<String>),
            Value::from(r#"{"a":1}"#),
        ]);
        assert_eq!(row.int(0).unwrap(), 7);
        assert!(row.bool(1).unwrap());
        assert_eq!(row.text(2).unwrap(), "x");
        assert_eq!(row.opt_text(3).unwrap(), None);
        assert_eq!(row.opt_int(3).unwrap(), None);
        assert!(row.int(2).is_err());
        assert!(row.text(9).is_err());
        let v: serde_json::Value = row.json(4).unwrap();
        assert_eq!(v["a"], 1);
        assert_eq!(Value::from(u64::MAX), Value::Int(i64::MAX));
    }
}
