//! The JSON report: the [`Report`] with a `summary` object.

use serde_json::{Value, json};

use crate::suite::Report;

/// Renders the report as pretty-printed JSON:
/// `{"summary": {"passed", "failed", "skipped"}, "report": {...}}`.
pub fn render(report: &Report) -> String {
    let value = json!({
        "summary": {
            "passed": report.passed(),
            "failed": report.failed(),
            "skipped": report.skipped(),
            "success": report.success(),
        },
        "report": serde_json::to_value(report).unwrap_or(Value::Null),
    });
    serde_json::to_string_pretty(&value).unwrap_or_default()
}
