//! Rendering a [`Report`](crate::Report): human text, JSON, JUnit XML, and the catalogue
//! listing of `--list`.

pub mod json;
pub mod junit;
pub mod text;

use crate::check::Check;

/// The output formats of the CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Human-readable text; the last line is the summary.
    Text,
    /// One JSON document.
    Json,
    /// JUnit XML for CI systems.
    Junit,
}

impl Format {
    /// Parses `text`, `json` or `junit`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "text" => Some(Format::Text),
            "json" => Some(Format::Json),
            "junit" => Some(Format::Junit),
            _ => None,
        }
    }
}

/// The catalogue as a Markdown table (`--list`): id, level, profile, RFC section, title.
///
/// ```
/// use conformance::{Suite, SuiteConfig, report::list_markdown};
/// let table = list_markdown(&Suite::new(SuiteConfig::new("http://x").only("errors.*")).selected());
/// assert!(table.starts_with("| id | level | section | what it checks |"));
/// assert!(table.contains("errors.body.schema-and-status-string"));
/// ```
pub fn list_markdown(checks: &[Check]) -> String {
    let mut out =
        String::from("| id | level | section | what it checks |\n| --- | --- | --- | --- |\n");
    for c in checks {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            c.id,
            c.level,
            c.section,
            c.title.replace('|', "\\|")
        ));
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use crate::check::{Level, Profile};
    use crate::client::Exchange;
    use crate::discovery::ServerFeatures;
    use crate::outcome::Outcome;
    use crate::suite::{CheckReport, Report};

    /// A report with one pass, one failure (with an exchange) and one skip.
    pub(crate) fn sample() -> Report {
        let result = |id: &'static str, outcome: Outcome| CheckReport {
            id,
            title: "a title with <markup> & \"quotes\"",
            section: "RFC 7644 §3.3",
            level: Level::Must,
            profile: Profile::Rfc,
            outcome,
            millis: 3,
            cleanup_failures: Vec::new(),
        };
        Report {
            base_url: "http://h/scim".into(),
            profiles: vec![Profile::Rfc],
            features: ServerFeatures::default(),
            results: vec![
                result("a.pass", Outcome::Pass),
                result(
                    "b.fail",
                    Outcome::Fail {
                        reason: "expected 201, got 200".into(),
                        exchanges: vec![Exchange {
                            method: "POST".into(),
                            url: "http://h/scim/Users".into(),
                            request_headers: vec![("Authorization".into(), "***".into())],
                            request_body: Some("{}".into()),
                            status: Some(200),
                            response_headers: vec![],
                            response_body: "{\"id\":\"1\"}".into(),
                            error: None,
                            millis: 1,
                        }],
                    },
                ),
                result(
                    "c.skip",
                    Outcome::Skip {
                        reason: "the server says patch.supported=false".into(),
                    },
                ),
            ],
            millis: 10,
        }
    }

    #[test]
    fn text_shows_failures_and_ends_with_the_summary() {
        let text = super::text::render(&sample());
        assert_eq!(text.lines().last(), Some("1 passed, 1 failed, 1 skipped"));
        assert!(text.contains("--- b.fail (MUST, RFC 7644 §3.3)"));
        assert!(text.contains("> POST http://h/scim/Users"));
        assert!(text.contains("< 200"));
        assert!(text.contains("SKIP c.skip [MUST RFC 7644 §3.3] - the server says"));
    }

    #[test]
    fn json_has_summary_and_results() {
        let v: serde_json::Value = serde_json::from_str(&super::json::render(&sample())).unwrap();
        assert_eq!(v["summary"]["failed"], 1);
        assert_eq!(v["summary"]["success"], false);
        assert_eq!(v["report"]["results"][1]["outcome"]["status"], "fail");
        assert_eq!(v["report"]["results"][1]["level"], "Must");
    }

    #[test]
    fn junit_marks_failures_and_skips_and_escapes() {
        let xml = super::junit::render(&sample());
        assert!(xml.contains("tests=\"3\" failures=\"1\" skipped=\"1\""));
        assert!(xml.contains("<failure message=\"expected 201, got 200\" type=\"MUST\">"));
        assert!(xml.contains("<skipped message=\"the server says patch.supported=false\"/>"));
        assert!(xml.contains("&lt;markup&gt; &amp; &quot;quotes&quot;"));
        assert!(!xml.contains("<markup>"));
    }
}
