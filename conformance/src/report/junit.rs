//! The JUnit XML report (one `<testsuite>`, one `<testcase>` per check), written by hand.

use std::fmt::Write;

use crate::outcome::Outcome;
use crate::suite::Report;

/// Escapes text for XML attributes and content.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' && c != '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Renders the report as JUnit XML.
pub fn render(report: &Report) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"scim-conformance\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" time=\"{:.3}\">",
        report.results.len(),
        report.failed(),
        report.skipped(),
        report.millis as f64 / 1000.0
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" skipped=\"{}\">",
        escape(&report.base_url),
        report.results.len(),
        report.failed(),
        report.skipped()
    );
    for r in &report.results {
        let classname = r.id.split('.').next().unwrap_or("scim");
        let _ = write!(
            out,
            "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
            escape(classname),
            escape(r.id),
            r.millis as f64 / 1000.0
        );
        match &r.outcome {
            Outcome::Pass => out.push_str("/>\n"),
            Outcome::Skip { reason } => {
                let _ = writeln!(
                    out,
                    ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                    escape(reason)
                );
            }
            Outcome::Fail { reason, exchanges } => {
                let mut detail = format!("{} ({})\n{}\n", r.title, r.section, reason);
                for e in exchanges {
                    detail.push_str(&e.to_string());
                }
                let _ = writeln!(
                    out,
                    ">\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>",
                    escape(reason),
                    escape(&r.level.to_string()),
                    escape(&detail)
                );
            }
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
    }
}
