//! The pieces of the external load harness that are worth testing on their own: the captured
//! response a bare hyper server replays, the wrk scripts, and the parser of wrk's report.
//!
//! The harness itself is the `scim-load` binary (see the crate README).

use serde::{Deserialize, Serialize};

/// A response captured from the real server, replayed byte for byte by `bare-hyper`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Captured {
    /// The status code.
    pub status: u16,
    /// The headers, in order.
    pub headers: Vec<(String, String)>,
    /// The body (SCIM bodies are JSON, so UTF-8).
    pub body: String,
}

/// What one wrk run measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WrkReport {
    /// Requests per second over the run.
    pub requests_per_sec: f64,
    /// Median latency, in milliseconds.
    pub p50_ms: f64,
    /// 99th percentile latency, in milliseconds.
    pub p99_ms: f64,
    /// Responses that were not 2xx or 3xx, and socket errors.
    pub errors: u64,
    /// Requests completed.
    pub requests: u64,
}

/// Why wrk's output could not be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read wrk's report ({what}):\n{output}")]
pub struct ParseError {
    what: &'static str,
    output: String,
}

/// A duration as wrk prints it (`812.00us`, `1.23ms`, `2.01s`, `1.00m`) in milliseconds.
pub fn parse_duration_ms(text: &str) -> Option<f64> {
    let t = text.trim();
    let (number, factor) = if let Some(n) = t.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = t.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1000.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60_000.0)
    } else {
        return None;
    };
    number.trim().parse::<f64>().ok().map(|v| v * factor)
}

/// Reads the report `wrk --latency` prints.
///
/// ```
/// let out = "Running 8s test @ http://127.0.0.1:1/Users/u\n  2 threads and 32 connections\n\
///   Latency Distribution\n     50%  412.00us\n     75%  600.00us\n     90%    1.01ms\n     99%    2.50ms\n\
///   81234 requests in 8.00s, 50.00MB read\n  Non-2xx or 3xx responses: 3\n\
/// Requests/sec:  10154.25\nTransfer/sec:      6.25MB\n";
/// let r = scim_loadtest::parse_wrk(out).unwrap();
/// assert_eq!(r.requests, 81234);
/// assert_eq!(r.errors, 3);
/// assert!((r.p50_ms - 0.412).abs() < 1e-9 && (r.p99_ms - 2.5).abs() < 1e-9);
/// assert!((r.requests_per_sec - 10154.25).abs() < 1e-9);
/// ```
pub fn parse_wrk(output: &str) -> Result<WrkReport, ParseError> {
    let fail = |what| ParseError {
        what,
        output: output.to_string(),
    };
    let mut rps = None;
    let mut p50 = None;
    let mut p99 = None;
    let mut requests = None;
    let mut errors = 0u64;
    for line in output.lines() {
        let l = line.trim();
        if let Some(v) = l.strip_prefix("Requests/sec:") {
            rps = v.trim().parse::<f64>().ok();
        } else if let Some(v) = l.strip_prefix("50%") {
            p50 = parse_duration_ms(v);
        } else if let Some(v) = l.strip_prefix("99%") {
            p99 = parse_duration_ms(v);
        } else if let Some(v) = l.strip_prefix("Non-2xx or 3xx responses:") {
            errors += v.trim().parse::<u64>().unwrap_or(0);
        } else if let Some(v) = l.strip_prefix("Socket errors:") {
            // `connect 0, read 0, write 0, timeout 0`
            errors += v
                .split(',')
                .filter_map(|part| part.split_whitespace().last()?.parse::<u64>().ok())
                .sum::<u64>();
        } else if l.contains(" requests in ") {
            requests = l.split_whitespace().next().and_then(|n| n.parse().ok());
        }
    }
    Ok(WrkReport {
        requests_per_sec: rps.ok_or_else(|| fail("no Requests/sec line"))?,
        p50_ms: p50.ok_or_else(|| fail("no 50% latency; run wrk with --latency"))?,
        p99_ms: p99.ok_or_else(|| fail("no 99% latency; run wrk with --latency"))?,
        errors,
        requests: requests.ok_or_else(|| fail("no request count"))?,
    })
}

/// The CPU time a process has used (user and system, all its threads), in clock ticks, from
/// the text of `/proc/PID/stat` (fields 14 and 15, counted after the parenthesised command
/// name, which may itself hold spaces and parentheses). See proc(5).
pub fn cpu_ticks(stat: &str) -> Option<u64> {
    let after_comm = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    // The first field after the command name is field 3 (`state`).
    let utime: u64 = fields.get(14 - 3)?.parse().ok()?;
    let stime: u64 = fields.get(15 - 3)?.parse().ok()?;
    Some(utime + stime)
}

/// The command name of a process: the text between the parentheses of `/proc/PID/stat`
/// (`comm`, at most 15 bytes of the executable's name; unlike the command line, a process
/// cannot put a URL there by its arguments). See proc(5).
pub fn command_name(stat: &str) -> Option<&str> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    stat.get(open + 1..close)
}

/// A Lua string literal for wrk scripts.
pub fn lua_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\{}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A wrk script that sends `GET` to one of `paths` at random, with the bearer token.
pub fn random_get_script(token: &str, paths: &[String]) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "wrk.headers[\"Authorization\"] = {}\nwrk.headers[\"Accept\"] = \"application/scim+json\"\nlocal paths = {{\n",
        lua_string(&format!("Bearer {token}"))
    ));
    for p in paths {
        s.push_str("  ");
        s.push_str(&lua_string(p));
        s.push_str(",\n");
    }
    s.push_str(
        "}\nfunction init(args)\n  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))\nend\n\
         function request()\n  return wrk.format(\"GET\", paths[math.random(#paths)])\nend\n",
    );
    s
}

/// A wrk script that POSTs new users to `path` (the server's `/Users`), each with a unique
/// `userName` (a run tag, the thread and a counter), as Entra ID creates them.
pub fn post_users_script(token: &str, path: &str, run: &str) -> String {
    format!(
        r#"wrk.headers["Authorization"] = {auth}
wrk.headers["Content-Type"] = "application/scim+json"
local counter = 0
local thread_tag = "t"
function setup(thread)
  thread:set("tag", tostring(thread):sub(-6))
end
function init(args)
  thread_tag = tag or "t"
end
function request()
  counter = counter + 1
  local name = {run} .. "-" .. thread_tag .. "-" .. counter .. "@example.com"
  local body = '{{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"' .. name ..
    '","active":true,"name":{{"givenName":"Load","familyName":"Test"}},' ..
    '"emails":[{{"type":"work","primary":true,"value":"' .. name .. '"}}]}}'
  return wrk.format("POST", {path}, nil, body)
end
"#,
        auth = lua_string(&format!("Bearer {token}")),
        path = lua_string(path),
        run = lua_string(run),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ms("1.50ms"), Some(1.5));
        assert_eq!(parse_duration_ms("500.00us"), Some(0.5));
        assert_eq!(parse_duration_ms("2.00s"), Some(2000.0));
        assert_eq!(parse_duration_ms("1.00m"), Some(60_000.0));
        assert_eq!(parse_duration_ms("fast"), None);
    }

    #[test]
    fn command_name_of_a_proc_stat_line() {
        assert_eq!(
            command_name("812 (postgres) S 1 812 812 0 -1 4194560 7 0 0 0 12 3"),
            Some("postgres")
        );
        // The name may hold spaces and parentheses; it ends at the last `)`.
        assert_eq!(command_name("9 (a (b) c) R 1"), Some("a (b) c"));
        assert_eq!(command_name("no parenthesis"), None);
    }

    #[test]
    fn cpu_ticks_of_a_proc_stat_line() {
        // proc(5): pid (comm) state ppid pgrp session tty_nr tpgid flags minflt cminflt
        // majflt cmajflt utime stime ...
        let line = "4242 (tokio rt) (x)) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 70 0 0 20 0 3 0";
        assert_eq!(cpu_ticks(line), Some(320));
        assert_eq!(cpu_ticks("4242 (short) S 1"), None);
        assert_eq!(cpu_ticks("no parenthesis"), None);
    }

    #[test]
    fn socket_errors_count() {
        let out = "  Latency Distribution\n     50%  1.00ms\n     99%  9.00ms\n  10 requests in 1.00s, 1KB read\n  Socket errors: connect 1, read 2, write 0, timeout 4\nRequests/sec:     10.00\n";
        let r = parse_wrk(out).unwrap();
        assert_eq!(r.errors, 7);
        assert!(parse_wrk("Requests/sec: 5\n").is_err());
    }

    #[test]
    fn lua_strings_are_escaped() {
        assert_eq!(lua_string(r#"a"b\c"#), r#""a\"b\\c""#);
        let s = random_get_script("tok", &["/Users?filter=userName%20eq%20%22x%22".into()]);
        assert!(s.contains("Bearer tok") && s.contains("%22x%22"));
    }
}
