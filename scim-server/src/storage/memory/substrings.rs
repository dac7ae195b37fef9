//! Substring filters (`co`, `ew`) of the memory backend: the candidates from an index's
//! 4-gram lists ([`Grams`], shared with the SQLite backend) instead of a walk over every
//! value of the index.

use super::*;
use crate::storage::grams::{Grams, SHORTEST_OPERAND};

impl Shard {
    /// The resources with a value in the index `key` (its `column`) that contains
    /// (`co`) or ends with (`ew`) `operand`, from the column's 4-gram lists instead of a
    /// walk over every value: `None` when the lists do not answer (an operand of fewer than
    /// three bytes, or values that are not few, where the walk costs less).
    ///
    /// The lists are built on the first such probe and added to by every write after it;
    /// they keep the values a resource no longer holds (and those of resources since
    /// deleted), so each candidate is checked against its current values. They are built
    /// again when the values added since the build outnumber the build's.
    pub(super) fn substring_hits<'s>(
        &'s self,
        key: &str,
        column: &Column,
        op: CompareOp,
        operand: &str,
    ) -> Option<Hits<'s>> {
        if operand.len() < SHORTEST_OPERAND {
            return None;
        }
        let mut grams = column.grams.lock().unwrap_or_else(PoisonError::into_inner);
        if grams.as_ref().is_none_or(Grams::outgrown) {
            let mut built = Grams::new();
            for (value, ids) in &column.by_value {
                for id in ids.iter() {
                    if let Some(entry) = self.resources.get(id) {
                        built.add(entry.seq, value.as_bytes());
                    }
                }
            }
            *grams = Some(built.built());
        }
        let owners = grams.as_ref()?.candidates(op, operand)?;
        drop(grams);
        let holds =
            |v: &IndexValue| matches!(v, IndexValue::Str(v) if holds_substring(op, v, operand));
        let mut hits = Hits::default();
        for seq in owners {
            let Some((id, entry)) = self
                .order
                .get(&seq)
                .and_then(|id| self.resources.get_key_value(id))
            else {
                continue;
            };
            if entry.index_keys.iter().any(|(k, v)| k == key && holds(v)) {
                hits.insert(&**id, &**entry);
            }
        }
        Some(hits)
    }
}
