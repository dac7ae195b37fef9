//! `/metrics` in the Prometheus text exposition format (version 0.0.4): requests by route
//! class and status, and a latency histogram by route class; the sync's gauges
//! ([`render_sync`]) and the mail outbox's ([`render_mail`]).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// The histogram's upper bounds, in seconds.
pub const BUCKETS: [f64; 11] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// Which part of the gateway a path belongs to (a bounded label: never the path itself,
/// which holds tenant and resource ids).
pub fn route_class(path: &str) -> &'static str {
    if path.starts_with("/scim/") || path == "/scim" {
        "scim"
    } else if path.starts_with("/admin/") || path == "/admin" {
        "admin"
    } else if path == "/healthz" || path == "/readyz" {
        "health"
    } else if path == "/metrics" {
        "metrics"
    } else {
        "other"
    }
}

#[derive(Debug, Default)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

#[derive(Debug, Default)]
struct State {
    requests: BTreeMap<(&'static str, u16), u64>,
    latency: BTreeMap<&'static str, Histogram>,
}

/// The gateway's request metrics.
#[derive(Debug, Default)]
pub struct Metrics {
    state: Mutex<State>,
}

impl Metrics {
    /// No requests yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one request.
    pub fn observe(&self, class: &'static str, status: u16, elapsed: Duration) {
        let Ok(mut s) = self.state.lock() else {
            return;
        };
        *s.requests.entry((class, status)).or_default() += 1;
        let secs = elapsed.as_secs_f64();
        let h = s.latency.entry(class).or_default();
        for (i, le) in BUCKETS.iter().enumerate() {
            if secs <= *le {
                h.buckets[i] += 1;
            }
        }
        h.sum += secs;
        h.count += 1;
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let Ok(s) = self.state.lock() else {
            return out;
        };
        out.push_str(
            "# HELP scim_gateway_http_requests_total HTTP requests by route class and status.\n\
             # TYPE scim_gateway_http_requests_total counter\n",
        );
        for ((class, status), n) in &s.requests {
            let _ = writeln!(
                out,
                "scim_gateway_http_requests_total{{route=\"{class}\",status=\"{status}\"}} {n}"
            );
        }
        out.push_str(
            "# HELP scim_gateway_http_request_duration_seconds HTTP request latency by route class.\n\
             # TYPE scim_gateway_http_request_duration_seconds histogram\n",
        );
        for (class, h) in &s.latency {
            for (i, le) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "scim_gateway_http_request_duration_seconds_bucket{{route=\"{class}\",le=\"{le}\"}} {}",
                    h.buckets[i]
                );
            }
            let _ = writeln!(
                out,
                "scim_gateway_http_request_duration_seconds_bucket{{route=\"{class}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "scim_gateway_http_request_duration_seconds_sum{{route=\"{class}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "scim_gateway_http_request_duration_seconds_count{{route=\"{class}\"}} {}",
                h.count
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        assert_eq!(route_class("/scim/demo/Users"), "scim");
        assert_eq!(route_class("/admin/tenants"), "admin");
        assert_eq!(route_class("/healthz"), "health");
        assert_eq!(route_class("/metrics"), "metrics");
        assert_eq!(route_class("/scimx"), "other");
    }

    #[test]
    fn renders_counters_and_cumulative_buckets() {
        let m = Metrics::new();
        m.observe("scim", 200, Duration::from_millis(3));
        m.observe("scim", 200, Duration::from_millis(30));
        m.observe("scim", 401, Duration::from_millis(1));
        let text = m.render();
        assert!(
            text.contains("scim_gateway_http_requests_total{route=\"scim\",status=\"200\"} 2\n")
        );
        assert!(
            text.contains("scim_gateway_http_requests_total{route=\"scim\",status=\"401\"} 1\n")
        );
        assert!(text.contains(
            "scim_gateway_http_request_duration_seconds_bucket{route=\"scim\",le=\"0.005\"} 2\n"
        ));
        assert!(text.contains(
            "scim_gateway_http_request_duration_seconds_bucket{route=\"scim\",le=\"0.05\"} 3\n"
        ));
        assert!(text.contains(
            "scim_gateway_http_request_duration_seconds_bucket{route=\"scim\",le=\"+Inf\"} 3\n"
        ));
        assert!(
            text.contains("scim_gateway_http_request_duration_seconds_count{route=\"scim\"} 3\n")
        );
    }
}

/// A gauge read from the gateway's database at scrape time: `sql` yields one row per
/// sample, the values of `labels` then the count.
struct DbGauge {
    name: &'static str,
    help: &'static str,
    labels: &'static [&'static str],
    sql: &'static str,
}

/// The sync's gauges: users waiting to be reconciled per tenant (the queue depth), users
/// whose last CRM write failed, and the CRM errors recorded in the provisioning log (within
/// its retention) by outcome.
const SYNC_GAUGES: [DbGauge; 3] = [
    DbGauge {
        name: "scim_gateway_sync_queue_depth",
        help: "Users waiting to be reconciled into the CRM.",
        labels: &["tenant"],
        sql: "SELECT tenant, CAST(COUNT(*) AS BIGINT) FROM gw_dirty GROUP BY tenant ORDER BY tenant",
    },
    DbGauge {
        name: "scim_gateway_sync_users_in_error",
        help: "Users whose last CRM write failed.",
        labels: &["tenant"],
        sql: "SELECT tenant, CAST(COUNT(*) AS BIGINT) FROM gw_sync_state WHERE error IS NOT NULL \
              GROUP BY tenant ORDER BY tenant",
    },
    DbGauge {
        name: "scim_gateway_crm_errors",
        help: "CRM errors in the provisioning log (within its retention).",
        labels: &["tenant", "outcome"],
        sql: "SELECT tenant, outcome, CAST(COUNT(*) AS BIGINT) FROM gw_log WHERE source = 'crm' \
              AND outcome IN ('failure', 'retrying') GROUP BY tenant, outcome ORDER BY tenant, outcome",
    },
];

/// The mail outbox's gauge: mails per tenant and status.
const MAIL_GAUGES: [DbGauge; 1] = [DbGauge {
    name: "scim_gateway_mail_outbox",
    help: "Mails in the outbox by tenant and status.",
    labels: &["tenant", "status"],
    sql: "SELECT tenant, status, CAST(COUNT(*) AS BIGINT) FROM gw_mail_outbox \
          GROUP BY tenant, status ORDER BY tenant, status",
}];

/// Appends the gauge `name`: its `# HELP` and `# TYPE` lines, then one sample per row of
/// `rows` (the values of `labels`, then the count).
fn gauge(
    out: &mut String,
    name: &str,
    help: &str,
    labels: &[&str],
    rows: &[crate::db::Row],
) -> Result<(), crate::db::DbError> {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} gauge");
    for r in rows {
        let mut set = Vec::with_capacity(labels.len());
        for (i, label) in labels.iter().enumerate() {
            set.push(format!("{label}=\"{}\"", r.text(i)?));
        }
        let _ = writeln!(out, "{name}{{{}}} {}", set.join(","), r.int(labels.len())?);
    }
    Ok(())
}

/// Reads `gauges` from `db` and renders them.
async fn render_gauges(
    db: &crate::db::Db,
    gauges: &[DbGauge],
) -> Result<String, crate::db::DbError> {
    let mut out = String::new();
    for g in gauges {
        let rows = db.query(g.sql, &[]).await?;
        gauge(&mut out, g.name, g.help, g.labels, &rows)?;
    }
    Ok(out)
}

/// The sync's gauges, read from the gateway's database at scrape time (so every process
/// sharing a database reports the same, current figures): users waiting to be reconciled
/// per tenant (the queue depth), users whose last CRM write failed, and the CRM errors
/// recorded in the provisioning log (within its retention) by outcome.
pub async fn render_sync(db: &crate::db::Db) -> Result<String, crate::db::DbError> {
    render_gauges(db, &SYNC_GAUGES).await
}

/// The mail outbox's gauges, read from the gateway's database at scrape time: mails per
/// tenant and status (`queued`, `sending`, `sent`, `failed`; a status without mails is left
/// out). A growing `queued` means the SMTP server is down or not configured; `failed` mails
/// wait for an operator (`scim-gateway mail outbox retry`).
pub async fn render_mail(db: &crate::db::Db) -> Result<String, crate::db::DbError> {
    render_gauges(db, &MAIL_GAUGES).await
}

/// All the gauges read from the database ([`render_sync`], then [`render_mail`]); a part
/// whose query fails is left out (and logged), so the rest is still scraped.
pub async fn render_db_gauges(db: &crate::db::Db) -> String {
    let mut out = String::new();
    match render_sync(db).await {
        Ok(sync) => out.push_str(&sync),
        Err(e) => tracing::warn!(error = %e, "metrics: sync gauges"),
    }
    match render_mail(db).await {
        Ok(mail) => out.push_str(&mail),
        Err(e) => tracing::warn!(error = %e, "metrics: mail gauges"),
    }
    out
}

#[cfg(test)]
mod gauge_tests {
    use super::render_sync;
    use crate::db::Db;

    #[tokio::test]
    async fn queue_depth_and_errors_per_tenant() {
        let db = Db::open_sqlite_in_memory().await.unwrap();
        for (t, u) in [("a", "1"), ("a", "2"), ("b", "3")] {
            db.execute(
                "INSERT INTO gw_dirty (tenant, user_id, since_seq) VALUES ($1, $2, 1)",
                &[t.into(), u.into()],
            )
            .await
            .unwrap();
        }
        db.execute(
            "INSERT INTO gw_log (tenant, at, source, action, outcome) \
             VALUES ('a', '2026-12-03T00:00:00.000Z', 'crm', 'reconcile', 'retrying')",
            &[],
        )
        .await
        .unwrap();
        let text = render_sync(&db).await.unwrap();
        assert!(
            text.contains("scim_gateway_sync_queue_depth{tenant=\"a\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("scim_gateway_sync_queue_depth{tenant=\"b\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("scim_gateway_crm_errors{tenant=\"a\",outcome=\"retrying\"} 1\n"),
            "{text}"
        );
        // Every gauge has its HELP and TYPE lines, also without samples.
        assert!(
            text.contains(
                "# HELP scim_gateway_sync_users_in_error Users whose last CRM write failed.\n\
                 # TYPE scim_gateway_sync_users_in_error gauge\n"
            ),
            "{text}"
        );
        assert!(
            !text.contains("scim_gateway_sync_users_in_error{"),
            "{text}"
        );
        assert!(
            text.starts_with(
                "# HELP scim_gateway_sync_queue_depth Users waiting to be reconciled into the CRM.\n\
                 # TYPE scim_gateway_sync_queue_depth gauge\n"
            ),
            "{text}"
        );
    }
    #[tokio::test]
    async fn outbox_mails_per_tenant_and_status() {
        use crate::mail::outbox::{self, NewMail};
        use crate::mail::templates::Kind;
        let db = Db::open_sqlite_in_memory().await.unwrap();
        let mail = |tenant: &str| NewMail {
            tenant: tenant.into(),
            kind: Kind::Notification,
            from: "it@contoso.com".into(),
            to: "ops@contoso.com".into(),
            subject: "s".into(),
            text: "t".into(),
            html: "h".into(),
            sealed_link: None,
        };
        for t in ["a", "a", "a", "b"] {
            outbox::enqueue(&db, &mail(t)).await.unwrap();
        }
        let now = chrono::Utc::now();
        let claimed = outbox::claim(&db, now, std::time::Duration::from_secs(60), 2)
            .await
            .unwrap();
        outbox::mark_sent(&db, &claimed[0], now).await.unwrap();
        outbox::mark_failed(&db, &claimed[1], "550 no", true, 8, now)
            .await
            .unwrap();
        let text = super::render_mail(&db).await.unwrap();
        assert!(
            text.contains("# TYPE scim_gateway_mail_outbox gauge\n"),
            "{text}"
        );
        for line in [
            "scim_gateway_mail_outbox{tenant=\"a\",status=\"failed\"} 1\n",
            "scim_gateway_mail_outbox{tenant=\"a\",status=\"queued\"} 1\n",
            "scim_gateway_mail_outbox{tenant=\"a\",status=\"sent\"} 1\n",
            "scim_gateway_mail_outbox{tenant=\"b\",status=\"queued\"} 1\n",
        ] {
            assert!(text.contains(line), "{line} in {text}");
        }
        let all = super::render_db_gauges(&db).await;
        assert!(all.ends_with(&text), "{all}");
        assert!(
            all.contains("# TYPE scim_gateway_sync_queue_depth gauge\n"),
            "{all}"
        );
    }
}
