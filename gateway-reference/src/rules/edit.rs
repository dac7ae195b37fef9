//! Editing a [`RuleSet`] one step at a time, as the rules wizard does: add or replace a
//! rule, delete, enable or disable, move, reorder. Pure; rules are named by their id.

use super::{Rule, RuleSet};

/// Why an edit was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// No rule has this id.
    #[error("there is no rule {0:?}")]
    NoSuchRule(String),
    /// A new order that is not the same rules, each once.
    #[error("the new order must name every rule once: {0}")]
    BadOrder(String),
}

impl RuleSet {
    /// The position of the rule `id`.
    pub fn position(&self, id: &str) -> Option<usize> {
        self.rules.iter().position(|r| r.id == id)
    }

    /// The rule `id`.
    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    fn index(&self, id: &str) -> Result<usize, EditError> {
        self.position(id)
            .ok_or_else(|| EditError::NoSuchRule(id.to_owned()))
    }

    /// Puts `rule` where the rule `replacing` is (an edit, which may change nothing but the
    /// content), or at the end when `replacing` is `None` (a new rule).
    pub fn upsert(&mut self, replacing: Option<&str>, rule: Rule) -> Result<(), EditError> {
        match replacing {
            Some(id) => {
                let i = self.index(id)?;
                self.rules[i] = rule;
            }
            None => self.rules.push(rule),
        }
        Ok(())
    }

    /// Deletes the rule `id` and returns it.
    pub fn remove(&mut self, id: &str) -> Result<Rule, EditError> {
        let i = self.index(id)?;
        Ok(self.rules.remove(i))
    }

    /// Enables or disables the rule `id`.
    pub fn set_enabled(&mut self, id: &str, enabled: bool) -> Result<(), EditError> {
        let i = self.index(id)?;
        self.rules[i].enabled = enabled;
        Ok(())
    }

    /// Moves the rule `id` by `delta` places (negative: up, towards the first rule), stopping
    /// at either end.
    pub fn move_by(&mut self, id: &str, delta: isize) -> Result<(), EditError> {
        let from = self.index(id)?;
        let last = self.rules.len() - 1;
        let to = from.saturating_add_signed(delta).min(last);
        let rule = self.rules.remove(from);
        self.rules.insert(to, rule);
        Ok(())
    }

    /// Puts the rules in the order of `ids`, which must name every rule exactly once.
    ///
    /// ```
    /// use gateway_reference::rules::{Rule, RuleScope, RuleSet, RuleSettings};
    ///
    /// let rule = |id: &str| Rule {
    ///     id: id.into(),
    ///     name: id.into(),
    ///     enabled: true,
    ///     scope: RuleScope::AllUsers,
    ///     condition: None,
    ///     settings: RuleSettings::default(),
    /// };
    /// let mut set = RuleSet { rules: vec![rule("a"), rule("b"), rule("c")] };
    /// set.reorder(&["c", "a", "b"]).unwrap();
    /// let ids: Vec<&str> = set.rules.iter().map(|r| r.id.as_str()).collect();
    /// assert_eq!(ids, ["c", "a", "b"]);
    /// assert!(set.reorder(&["c", "a"]).is_err());
    /// ```
    pub fn reorder(&mut self, ids: &[&str]) -> Result<(), EditError> {
        if ids.len() != self.rules.len() {
            return Err(EditError::BadOrder(format!(
                "{} ids for {} rules",
                ids.len(),
                self.rules.len()
            )));
        }
        let mut taken = vec![false; self.rules.len()];
        let mut order = Vec::with_capacity(ids.len());
        for id in ids {
            match self.position(id) {
                Some(i) if !taken[i] => {
                    taken[i] = true;
                    order.push(i);
                }
                _ => {
                    return Err(EditError::BadOrder(format!(
                        "{id:?} is unknown or repeated"
                    )));
                }
            }
        }
        let mut old: Vec<Option<Rule>> = self.rules.drain(..).map(Some).collect();
        self.rules = order.into_iter().filter_map(|i| old[i].take()).collect();
        Ok(())
    }

    /// An id for a new rule called `name` that no rule of the set has: the name in lower
    /// case, with `-` for anything but `a-z 0-9`, and `-2`, `-3`... when taken.
    ///
    /// ```
    /// use gateway_reference::rules::RuleSet;
    ///
    /// assert_eq!(RuleSet::default().fresh_id("Sales Premium (EU)"), "sales-premium-eu");
    /// assert_eq!(RuleSet::default().fresh_id("Ærlig"), "rlig");
    /// assert_eq!(RuleSet::default().fresh_id("!!!"), "rule");
    /// ```
    pub fn fresh_id(&self, name: &str) -> String {
        let mut slug = String::new();
        for c in name.chars().flat_map(char::to_lowercase) {
            if c.is_ascii_alphanumeric() {
                slug.push(c);
            } else if !slug.is_empty() && !slug.ends_with('-') {
                slug.push('-');
            }
        }
        let mut slug: String = slug.trim_end_matches('-').chars().take(48).collect();
        slug.truncate(slug.trim_end_matches('-').len());
        if slug.is_empty() {
            slug = "rule".into();
        }
        if self.position(&slug).is_none() {
            return slug;
        }
        (2..)
            .map(|n| format!("{slug}-{n}"))
            .find(|id| self.position(id).is_none())
            .unwrap_or(slug)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::rules::test_rule as rule;

    fn set(ids: &[&str]) -> RuleSet {
        RuleSet {
            rules: ids.iter().map(|id| rule(id)).collect(),
        }
    }

    fn ids(s: &RuleSet) -> Vec<&str> {
        s.rules.iter().map(|r| r.id.as_str()).collect()
    }

    #[test]
    fn moves_stop_at_the_ends() {
        let mut s = set(&["a", "b", "c"]);
        s.move_by("c", -1).unwrap();
        assert_eq!(ids(&s), ["a", "c", "b"]);
        s.move_by("a", -1).unwrap();
        assert_eq!(ids(&s), ["a", "c", "b"]);
        s.move_by("a", 5).unwrap();
        assert_eq!(ids(&s), ["c", "b", "a"]);
        assert_eq!(s.move_by("x", 1), Err(EditError::NoSuchRule("x".into())));
    }

    #[test]
    fn a_refused_reorder_changes_nothing() {
        let mut s = set(&["a", "b", "c"]);
        assert!(s.reorder(&["b", "b", "a"]).is_err());
        assert_eq!(ids(&s), ["a", "b", "c"]);
        assert!(s.reorder(&["c", "x", "a"]).is_err());
        assert_eq!(ids(&s), ["a", "b", "c"]);
        s.reorder(&["b", "c", "a"]).unwrap();
        assert_eq!(ids(&s), ["b", "c", "a"]);
    }

    #[test]
    fn upsert_replaces_in_place_or_appends() {
        let mut s = set(&["a", "b"]);
        let mut renamed = rule("a2");
        renamed.name = "A".into();
        s.upsert(Some("a"), renamed).unwrap();
        s.upsert(None, rule("c")).unwrap();
        assert_eq!(ids(&s), ["a2", "b", "c"]);
        assert!(s.upsert(Some("zz"), rule("d")).is_err());
        s.set_enabled("b", false).unwrap();
        assert!(!s.rule("b").unwrap().enabled);
        assert_eq!(s.remove("b").unwrap().id, "b");
        assert_eq!(ids(&s), ["a2", "c"]);
    }

    #[test]
    fn fresh_ids_avoid_the_taken_ones() {
        let s = set(&["sales", "sales-2"]);
        assert_eq!(s.fresh_id("Sales"), "sales-3");
        assert_eq!(s.fresh_id("  Support -- EU  "), "support-eu");
        let long = "x".repeat(80);
        assert_eq!(s.fresh_id(&long).len(), 48);
    }
}
