//! Per-tenant from-address and templates (welcome, notification, recovery), each a subject,
//! a plain text body and an HTML body with `{{placeholders}}`. Values substituted into the
//! HTML body are HTML-escaped; the subject loses line breaks.
//!
//! Placeholders: `{{name}}` (the user's full name), `{{username}}`, `{{link}}` (the welcome
//! link), `{{tenant}}`, `{{expires}}` (when the link expires), and for notifications
//! `{{condition}}`, `{{detail}}`, `{{since}}`, `{{digest}}`.
//!
//! ```
//! use gateway_reference::mail::templates::{Kind, MailTemplates, Vars};
//! let t = MailTemplates::default();
//! let vars = Vars::sample(Kind::Welcome);
//! let m = t.render(Kind::Welcome, &vars).unwrap();
//! assert!(m.text.contains(&vars.get("link").unwrap()));
//! assert!(m.html.contains("Ada &lt;Admin&gt; Lovelace"));
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::MailError;
use crate::db::{Db, DbError, now};
use scim_server::TenantId;

/// Which mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Kind {
    /// A new CRM user's welcome mail with the activation link.
    Welcome,
    /// A critical error, to the tenant's Notifications Email.
    Notification,
    /// A critical condition cleared.
    Recovery,
}

impl Kind {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Welcome => "welcome",
            Kind::Notification => "notification",
            Kind::Recovery => "recovery",
        }
    }

    /// The kind stored as `s`.
    pub fn parse(s: &str) -> Option<Kind> {
        [Kind::Welcome, Kind::Notification, Kind::Recovery]
            .into_iter()
            .find(|k| k.as_str() == s)
    }

    fn placeholders(self) -> &'static [&'static str] {
        match self {
            Kind::Welcome => &["name", "username", "link", "tenant", "expires"],
            Kind::Notification | Kind::Recovery => {
                &["tenant", "condition", "detail", "since", "digest"]
            }
        }
    }
}

/// One template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Template {
    /// The subject.
    pub subject: String,
    /// The plain text body.
    pub text: String,
    /// The HTML body.
    pub html: String,
}

/// A tenant's mail settings: `null` fields take the defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct MailTemplates {
    /// The From of the tenant's mails (`Contoso IT <it@contoso.com>`); default: the
    /// deployment's `[mail] from`.
    pub from: Option<String>,
    /// The welcome mail.
    pub welcome: Option<Template>,
    /// The notification mail.
    pub notification: Option<Template>,
    /// The recovery mail.
    pub recovery: Option<Template>,
}

/// A rendered mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Rendered {
    /// The subject.
    pub subject: String,
    /// The plain text body.
    pub text: String,
    /// The HTML body.
    pub html: String,
}

/// The values of the placeholders.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vars(BTreeMap<&'static str, String>);

impl Vars {
    /// No values.
    pub fn new() -> Self {
        Vars::default()
    }

    /// Sets `name` (one of the placeholders) to `value`.
    pub fn set(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.0.insert(name, value.into());
        self
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }

    /// Sample values for a preview (with characters that need escaping in HTML).
    pub fn sample(kind: Kind) -> Vars {
        match kind {
            Kind::Welcome => Vars::new()
                .set("name", "Ada <Admin> Lovelace")
                .set("username", "ada.lovelace@contoso.com")
                .set(
                    "link",
                    "https://scim.example.com/activate/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                )
                .set("tenant", "contoso")
                .set("expires", "2026-12-10 09:00 UTC"),
            Kind::Notification | Kind::Recovery => Vars::new()
                .set("tenant", "contoso")
                .set("condition", "No free seat of a user plan")
                .set("detail", "no free seat of user plan 1 (user ada@contoso.com)")
                .set("since", "2026-12-03 09:00 UTC")
                .set(
                    "digest",
                    "3 further occurrences were not mailed:\n  2026-12-03 09:10 UTC  no free seat of user plan 1 (user bob@contoso.com)",
                ),
        }
    }
}

/// Escapes `&`, `<`, `>`, `"` and `'` for HTML text and attribute values.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The placeholders `text` uses that `kind` does not know.
fn unknown_placeholders(kind: Kind, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        let name = after[..end].trim();
        if !kind.placeholders().contains(&name) {
            out.push(name.to_string());
        }
        rest = &after[end + 2..];
    }
    out
}

fn substitute(text: &str, vars: &Vars, escape: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let value = vars.get(after[..end].trim()).unwrap_or_default();
        if escape {
            out.push_str(&html_escape(&value));
        } else {
            out.push_str(&value);
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

const STYLE: &str = "font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; \
                     font-size: 15px; line-height: 1.5; color: #1f2328; max-width: 560px";

/// The built-in template of `kind`.
pub fn default_template(kind: Kind) -> Template {
    match kind {
        Kind::Welcome => Template {
            subject: "Welcome, {{name}}: activate your CRM account".into(),
            text: "Hello {{name}},\n\n\
                   a CRM account was created for you. Your user name is {{username}}.\n\n\
                   Activate it here (the link works once and until {{expires}}):\n\n\
                   {{link}}\n\n\
                   If you did not expect this mail, you can ignore it.\n"
                .into(),
            html: format!(
                "<!DOCTYPE html><html><body><div style=\"{STYLE}\">\
                 <p>Hello {{{{name}}}},</p>\
                 <p>a CRM account was created for you. Your user name is \
                 <strong>{{{{username}}}}</strong>.</p>\
                 <p><a href=\"{{{{link}}}}\" style=\"display: inline-block; padding: 10px 18px; \
                 background: #0b5cad; color: #ffffff; text-decoration: none; border-radius: 4px\">\
                 Activate your account</a></p>\
                 <p>The link works once and until {{{{expires}}}}. If the button does not work, \
                 open this address:<br>{{{{link}}}}</p>\
                 <p style=\"color: #59636e\">If you did not expect this mail, you can ignore it.</p>\
                 </div></body></html>"
            ),
        },
        Kind::Notification => Template {
            subject: "[scim-gateway {{tenant}}] {{condition}}".into(),
            text:
                "The gateway's sync for tenant {{tenant}} has a problem that needs attention.\n\n\
                   {{condition}} (since {{since}})\n{{detail}}\n\n{{digest}}\n\n\
                   A recovery mail follows when it clears. The provisioning log has the details.\n"
                    .into(),
            html: format!(
                "<!DOCTYPE html><html><body><div style=\"{STYLE}\">\
                 <p>The gateway's sync for tenant <strong>{{{{tenant}}}}</strong> has a problem \
                 that needs attention.</p>\
                 <p><strong>{{{{condition}}}}</strong> (since {{{{since}}}})<br>{{{{detail}}}}</p>\
                 <pre style=\"white-space: pre-wrap\">{{{{digest}}}}</pre>\
                 <p style=\"color: #59636e\">A recovery mail follows when it clears. The \
                 provisioning log has the details.</p></div></body></html>"
            ),
        },
        Kind::Recovery => Template {
            subject: "[scim-gateway {{tenant}}] Resolved: {{condition}}".into(),
            text: "Resolved for tenant {{tenant}}: {{condition}} (since {{since}}).\n\n\
                   Last seen: {{detail}}\n\n{{digest}}\n"
                .into(),
            html: format!(
                "<!DOCTYPE html><html><body><div style=\"{STYLE}\">\
                 <p>Resolved for tenant <strong>{{{{tenant}}}}</strong>: \
                 {{{{condition}}}} (since {{{{since}}}}).</p>\
                 <p>Last seen: {{{{detail}}}}</p>\
                 <pre style=\"white-space: pre-wrap\">{{{{digest}}}}</pre></div></body></html>"
            ),
        },
    }
}

impl MailTemplates {
    /// The template of `kind` (the tenant's, else the default).
    pub fn template(&self, kind: Kind) -> Template {
        let own = match kind {
            Kind::Welcome => &self.welcome,
            Kind::Notification => &self.notification,
            Kind::Recovery => &self.recovery,
        };
        own.clone().unwrap_or_else(|| default_template(kind))
    }

    /// Renders `kind` with `vars`.
    pub fn render(&self, kind: Kind, vars: &Vars) -> Result<Rendered, MailError> {
        let t = self.template(kind);
        Ok(Rendered {
            subject: substitute(&t.subject, vars, false).replace(['\r', '\n'], " "),
            text: substitute(&t.text, vars, false),
            html: substitute(&t.html, vars, true),
        })
    }

    /// Every problem of the document, for a 400: an unparsable from-address, an unknown
    /// placeholder, an empty subject.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(from) = &self.from
            && let Err(e) = super::smtp::mailbox(from)
        {
            out.push(format!("from: {e}"));
        }
        for (kind, t) in [
            (Kind::Welcome, &self.welcome),
            (Kind::Notification, &self.notification),
            (Kind::Recovery, &self.recovery),
        ] {
            let Some(t) = t else { continue };
            if t.subject.trim().is_empty() {
                out.push(format!("{}.subject is empty", kind.as_str()));
            }
            for (field, text) in [
                ("subject", &t.subject),
                ("text", &t.text),
                ("html", &t.html),
            ] {
                for name in unknown_placeholders(kind, text) {
                    out.push(format!(
                        "{}.{field}: unknown placeholder {{{{{name}}}}} (known: {})",
                        kind.as_str(),
                        kind.placeholders().join(", ")
                    ));
                }
            }
        }
        out
    }
}

/// The tenant's mail templates (all defaults when none were saved).
pub async fn load(db: &Db, tenant: &TenantId) -> Result<MailTemplates, DbError> {
    match db
        .query_opt(
            "SELECT json FROM gw_mail_templates WHERE tenant = $1",
            &[tenant.as_str().into()],
        )
        .await?
    {
        Some(row) => row.json(0),
        None => Ok(MailTemplates::default()),
    }
}

/// Loads them inside a transaction.
pub async fn load_tx(tx: &mut crate::db::Tx, tenant: &TenantId) -> Result<MailTemplates, DbError> {
    match tx
        .query_opt(
            "SELECT json FROM gw_mail_templates WHERE tenant = $1",
            &[tenant.as_str().into()],
        )
        .await?
    {
        Some(row) => row.json(0),
        None => Ok(MailTemplates::default()),
    }
}

/// Saves them; `by` names who saved them.
pub async fn save(db: &Db, tenant: &TenantId, t: &MailTemplates, by: &str) -> Result<(), DbError> {
    let json = serde_json::to_string(t).map_err(|e| DbError::Decode(format!("templates: {e}")))?;
    db.execute(
        "INSERT INTO gw_mail_templates (tenant, json, updated_at, updated_by) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (tenant) DO UPDATE SET json = excluded.json, \
         updated_at = excluded.updated_at, updated_by = excluded.updated_by",
        &[tenant.as_str().into(), json.into(), now().into(), by.into()],
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_values_are_escaped_and_text_values_are_not() {
        let t = MailTemplates::default();
        let vars = Vars::sample(Kind::Welcome).set("name", "<script>x</script> & 'q'");
        let m = t.render(Kind::Welcome, &vars).unwrap();
        assert!(m.text.contains("<script>x</script> & 'q'"));
        assert!(
            m.html
                .contains("&lt;script&gt;x&lt;/script&gt; &amp; &#39;q&#39;")
        );
        assert!(!m.html.contains("<script>"));
        assert!(m.subject.starts_with("Welcome, <script>"));
        let link = vars.get("link").unwrap();
        assert!(m.html.contains(&format!("href=\"{link}\"")));
    }

    #[test]
    fn every_default_renders_every_placeholder() {
        let t = MailTemplates::default();
        for kind in [Kind::Welcome, Kind::Notification, Kind::Recovery] {
            let m = t.render(kind, &Vars::sample(kind)).unwrap();
            for part in [&m.subject, &m.text, &m.html] {
                assert!(!part.contains("{{"), "{kind:?}: {part}");
            }
            assert!(t.problems().is_empty());
        }
    }

    #[test]
    fn problems_name_the_field() {
        let t = MailTemplates {
            from: Some("not an address".into()),
            welcome: Some(Template {
                subject: "Hi {{nmae}}".into(),
                text: "{{link}}".into(),
                html: "{{link}}".into(),
            }),
            ..MailTemplates::default()
        };
        let p = t.problems();
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].starts_with("from:"));
        assert!(p[1].contains("welcome.subject") && p[1].contains("nmae"));
        let subject = t
            .render(Kind::Welcome, &Vars::new().set("name", "a\r\nBcc: x"))
            .unwrap()
            .subject;
        assert!(!subject.contains('\n'));
    }

    #[tokio::test]
    async fn saved_templates_load_back() {
        let db = Db::open_sqlite_in_memory().await.unwrap();
        let t = TenantId::new("t").unwrap();
        assert_eq!(load(&db, &t).await.unwrap(), MailTemplates::default());
        let mine = MailTemplates {
            from: Some("IT <it@contoso.com>".into()),
            ..MailTemplates::default()
        };
        save(&db, &t, &mine, "admin").await.unwrap();
        assert_eq!(load(&db, &t).await.unwrap(), mine);
    }
}
