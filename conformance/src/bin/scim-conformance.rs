//! `scim-conformance`: checks a SCIM 2.0 endpoint against RFC 7643 / RFC 7644 and real
//! clients' behaviour.
//!
//! Exit code 0 when nothing failed, 1 when a check failed, 2 for usage errors and when
//! discovery could not reach or authenticate to the server.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use conformance::report::{self, Format};
use conformance::{Credentials, Profile, Suite, SuiteConfig};

/// Checks a SCIM 2.0 service provider over HTTP.
#[derive(Debug, Parser)]
#[command(name = "scim-conformance", version, about)]
struct Cli {
    /// The SCIM base URL, e.g. https://example.com/scim/v2
    #[arg(long, required_unless_present = "list")]
    url: Option<String>,
    /// A bearer token sent as `Authorization: Bearer TOKEN`.
    #[arg(long, conflicts_with = "header")]
    token: Option<String>,
    /// A header sent on every request, `Name: value` (repeatable).
    #[arg(long)]
    header: Vec<String>,
    /// Profiles to run, comma-separated: rfc, entra, okta.
    #[arg(long, default_value = "rfc")]
    profile: String,
    /// Run only checks whose id matches this glob (repeatable, or comma-separated).
    #[arg(long)]
    only: Vec<String>,
    /// Leave out checks whose id matches this glob (repeatable, or comma-separated).
    #[arg(long)]
    skip: Vec<String>,
    /// Output format: text, json or junit.
    #[arg(long, default_value = "text")]
    format: String,
    /// Write the report in --format to this file (text still goes to stdout).
    #[arg(long)]
    output: Option<std::path::PathBuf>,
    /// List the selected checks as a Markdown table and exit.
    #[arg(long)]
    list: bool,
    /// Timeout of each HTTP request, in seconds.
    #[arg(long, default_value_t = 10)]
    timeout: u64,
    /// How many checks run at once.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("scim-conformance: {message}");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut profiles = Vec::new();
    for p in cli.profile.split(',').filter(|p| !p.trim().is_empty()) {
        match Profile::parse(p) {
            Some(p) => profiles.push(p),
            None => return usage_error(&format!("unknown profile {p:?} (use rfc, entra, okta)")),
        }
    }
    let Some(format) = Format::parse(&cli.format) else {
        return usage_error(&format!(
            "unknown format {:?} (use text, json, junit)",
            cli.format
        ));
    };
    let mut credentials = Credentials {
        token: cli.token.clone(),
        headers: Vec::new(),
    };
    for h in &cli.header {
        match h.split_once(':') {
            Some((name, value)) if !name.trim().is_empty() => {
                credentials = credentials.with_header(name.trim(), value.trim());
            }
            _ => return usage_error(&format!("--header {h:?} is not of the form 'Name: value'")),
        }
    }
    let config = SuiteConfig {
        base_url: cli.url.clone().unwrap_or_default(),
        credentials,
        profiles,
        only: cli.only.clone(),
        skip: cli.skip.clone(),
        timeout: Duration::from_secs(cli.timeout.max(1)),
        concurrency: cli.concurrency.max(1),
    };
    let suite = Suite::new(config);
    if cli.list {
        print!("{}", report::list_markdown(&suite.selected()));
        return ExitCode::SUCCESS;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return usage_error(&format!("cannot start the async runtime: {e}")),
    };
    let tty = std::io::stderr().is_terminal();
    let result = runtime.block_on(suite.run_with_progress(|done, total, r| {
        let mut err = std::io::stderr();
        if tty {
            let _ = write!(
                err,
                "\r\x1b[2K[{done}/{total}] {} {}",
                r.outcome.label(),
                r.id
            );
            if done == total {
                let _ = writeln!(err);
            }
        } else {
            let _ = writeln!(err, "[{done}/{total}] {} {}", r.outcome.label(), r.id);
        }
    }));
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("scim-conformance: {e}");
            return ExitCode::from(2);
        }
    };
    let rendered = match format {
        Format::Text => report::text::render(&report),
        Format::Json => report::json::render(&report),
        Format::Junit => report::junit::render(&report),
    };
    match &cli.output {
        Some(path) => {
            if let Err(e) = std::fs::write(path, &rendered) {
                return usage_error(&format!("cannot write {}: {e}", path.display()));
            }
            print!("{}", report::text::render(&report));
        }
        None => print!("{rendered}"),
    }
    if report.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
