//! The Identity Manager's pages, one module per page.

pub mod configurations;
pub mod log;
pub mod mail;
pub mod names;
pub mod preview;
pub mod settings;
pub mod tenants;

/// The non-empty `fields` as a URL-encoded query string ending in `&` (empty when none), to
/// which a pager appends `page=N`.
pub fn query_prefix(fields: &[(&str, &str)]) -> String {
    let mut qs = form_urlencoded::Serializer::new(String::new());
    for (k, v) in fields {
        if !v.is_empty() {
            qs.append_pair(k, v);
        }
    }
    let mut query = qs.finish();
    if !query.is_empty() {
        query.push('&');
    }
    query
}
