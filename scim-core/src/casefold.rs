//! Case folding: the one mapping that every case-insensitive comparison of this toolkit uses.
//!
//! RFC 7643 §2.1 says of `caseExact: false` only that case is ignored. Lower-casing is not a
//! sound way to ignore it: `str::to_lowercase` turns a word-final `Σ` into `ς` while
//! `char::to_lowercase` turns it into `σ`, so `"ΟΔΟΣ"` and `"οδος"` compare equal under one
//! and differ under the other. Unicode defines caseless matching by *case folding*
//! (The Unicode Standard, §3.13 "Default Case Folding", `CaseFolding.txt` statuses C and F),
//! which maps `Σ`, `σ` and `ς` to one letter and `ß` to `ss`.
//!
//! Uniqueness (`userName`), filters, the SQL backends' indexes and sorting all compare the
//! folded forms [`fold`] returns, so a value that one of them finds is found by all of them.
//!
//! ```
//! use scim_core::casefold::{eq_folded, fold};
//!
//! assert_eq!(fold("BJensen"), "bjensen");
//! assert_eq!(fold("ΟΔΟΣ"), fold("οδος"));
//! assert_eq!(fold("Straße"), "strasse");
//! assert!(eq_folded("ΟΔΟΣ", "οδος"));
//! ```

use std::borrow::Cow;

/// The Unicode default case folding of `s` (full folding: `CaseFolding.txt` statuses C and F).
///
/// Borrows `s` when folding changes nothing (ASCII text without upper-case letters, the
/// common case), and folds ASCII text without a Unicode table lookup.
pub fn fold(s: &str) -> Cow<'_, str> {
    if s.is_ascii() {
        if s.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(s.to_ascii_lowercase())
        } else {
            Cow::Borrowed(s)
        }
    } else {
        let folded = caseless::default_case_fold_str(s);
        if folded == s {
            Cow::Borrowed(s)
        } else {
            Cow::Owned(folded)
        }
    }
}

/// Whether `a` and `b` are equal ignoring case (their [`fold`]s are equal).
pub fn eq_folded(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        return a.eq_ignore_ascii_case(b);
    }
    fold(a) == fold(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_sigma_folds_like_every_other_sigma() {
        // U+03A3 GREEK CAPITAL LETTER SIGMA, U+03C3 small sigma, U+03C2 small final sigma.
        assert_eq!(fold("ΟΔΟΣ"), "οδοσ");
        assert_eq!(fold("οδος"), "οδοσ");
        assert_eq!(fold("οδοσ"), "οδοσ");
    }

    #[test]
    fn full_folding_expands_sharp_s() {
        assert_eq!(fold("STRASSE"), fold("straße"));
    }

    #[test]
    fn ascii_borrows_when_already_folded() {
        assert!(matches!(fold("bjensen@example.com"), Cow::Borrowed(_)));
        assert!(matches!(fold("BJensen"), Cow::Owned(_)));
        assert!(matches!(fold("ünïcödé"), Cow::Borrowed(_)));
    }

    #[test]
    fn eq_folded_ignores_case_only() {
        assert!(eq_folded("BJensen", "bjensen"));
        assert!(!eq_folded("bjensen", "bjensen2"));
        assert!(eq_folded("ΟΔΟΣ", "οδος"));
    }
}
