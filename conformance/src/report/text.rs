//! The human-readable report. Its last line is the summary `N passed, M failed, K skipped`.

use std::fmt::Write;

use crate::outcome::Outcome;
use crate::suite::Report;

/// Renders the report: one line per check, then each failure with its RFC section, the reason,
/// and the requests and responses, then the summary line.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "scim-conformance against {} (profiles: {})",
        report.base_url,
        report
            .profiles
            .iter()
            .map(|p| p.as_str())
            .collect::<Vec<_>>()
            .join(",")
    );
    for note in &report.features.notes {
        let _ = writeln!(out, "note: {note}");
    }
    for r in &report.results {
        let _ = write!(
            out,
            "{} {} [{} {}]",
            r.outcome.label(),
            r.id,
            r.level,
            r.section
        );
        if let Outcome::Skip { reason } = &r.outcome {
            let _ = write!(out, " - {reason}");
        }
        out.push('\n');
    }
    let failures: Vec<_> = report
        .results
        .iter()
        .filter(|r| r.outcome.is_fail())
        .collect();
    if !failures.is_empty() {
        let _ = writeln!(out, "\nFailures:");
    }
    for r in failures {
        if let Outcome::Fail { reason, exchanges } = &r.outcome {
            let _ = writeln!(out, "\n--- {} ({}, {})", r.id, r.level, r.section);
            let _ = writeln!(out, "{}", r.title);
            let _ = writeln!(out, "reason: {reason}");
            for (i, e) in exchanges.iter().enumerate() {
                let _ = writeln!(out, "exchange {}:", i + 1);
                out.push_str(&e.to_string());
            }
        }
    }
    for r in report
        .results
        .iter()
        .filter(|r| !r.cleanup_failures.is_empty())
    {
        let _ = writeln!(
            out,
            "warning: {} could not delete {}",
            r.id,
            r.cleanup_failures.join(", ")
        );
    }
    out.push_str(&report.summary_line());
    out.push('\n');
    out
}
