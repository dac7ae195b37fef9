//! A tiny glob matcher for `--only` / `--skip`: `*` matches any run of characters (dots
//! included), `?` one character; everything else matches itself.

/// Whether `text` matches `pattern`.
///
/// ```
/// use conformance::glob::glob_match;
/// assert!(glob_match("users.*", "users.create.returns-201-location"));
/// assert!(glob_match("*.returns-20?-location", "users.create.returns-201-location"));
/// assert!(!glob_match("groups.*", "users.read.returns-200"));
/// ```
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// Whether `text` matches any of the comma-separated patterns in any of `patterns`.
pub fn any_match(patterns: &[String], text: &str) -> bool {
    patterns
        .iter()
        .flat_map(|p| p.split(','))
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .any(|p| glob_match(p, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stars_and_questions() {
        assert!(glob_match("*", ""));
        assert!(glob_match("a*b*c", "axxbyyc"));
        assert!(!glob_match("a*b*c", "axxbyy"));
        assert!(glob_match("filters.eq", "filters.eq"));
        assert!(!glob_match("filters.eq", "filters.eq2"));
        assert!(any_match(&["x.*, users.*".into()], "users.read"));
    }
}
