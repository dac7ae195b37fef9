//! 4-gram lists of the values of one indexed attribute: the candidates of a substring
//! filter (`co`, `ew`) without reading every value.
//!
//! An ordered index answers `eq`, `sw` and ranges with a range of its keys, but a
//! substring can sit anywhere in a value: alone, `emails[value co "x"]` reads every email
//! address of the tenant. [`Grams`] maps each run of four bytes (a 4-gram) of the values
//! to the values that contain it. A value containing an operand of four bytes or more
//! contains each of its 4-grams, so intersecting their lists gives every candidate. An
//! operand of three bytes sits, in a value of four bytes or more, inside a 4-gram that
//! starts or ends with it, so the union of those 4-grams' lists (the index keeps which
//! 4-grams start or end with each three bytes) and the values of exactly three bytes give
//! every candidate. Four bytes rather than three keep the lists short where values share
//! much: among 1,000,000 addresses `u0@example.com` ... the trigram `u50` is in 11,111
//! values, `u500` in 1,111. Each candidate value is then tested byte by byte, so the
//! values a query gets hold the operand.
//!
//! The lists only grow: a value that changes adds its new 4-grams and keeps its old ones,
//! so the owner of a candidate may no longer hold it. A backend checks its candidates
//! against the values they hold now, and builds the lists again when the values added
//! since the build outnumber the build's ([`Grams::outgrown`]).
//!
//! Per value: four bytes per distinct 4-gram (an email of 20 bytes has at most 17), its
//! own bytes and the size of its owner and of its end (four bytes) beside them.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use scim_core::filter::CompareOp;

/// The shortest operand the lists answer: three bytes, which a 4-gram starts or ends with
/// (or a value is).
pub(crate) const SHORTEST_OPERAND: usize = 3;

/// A run of four bytes of a value.
type Gram = [u8; 4];

/// The 4-gram lists of the values of one attribute, each value with its owner (`O`: a
/// row or a resource).
pub(crate) struct Grams<O> {
    /// The owner of each value added, in order; a value's position is its slot.
    slots: Vec<O>,
    /// The bytes of every value added, one after the other.
    bytes: Vec<u8>,
    /// The end of each slot's value in `bytes` (it starts where the previous one ends).
    ends: Vec<u32>,
    /// The slots (ascending) of the values containing each 4-gram.
    lists: HashMap<Gram, Vec<u32>>,
    /// The 4-grams of `lists` that start or end with each three bytes.
    around: HashMap<[u8; 3], Vec<Gram>>,
    /// The slots (ascending) of the values of exactly three bytes, which hold no 4-gram.
    three_bytes: Vec<u32>,
    /// The number of values of the build.
    built_values: usize,
    /// A value did not fit (more than `u32::MAX` values or bytes): the lists are incomplete
    /// and answer nothing.
    overflow: bool,
}

impl<O: Copy + Ord> Grams<O> {
    /// No values yet.
    pub(crate) fn new() -> Self {
        Grams {
            slots: Vec::new(),
            bytes: Vec::new(),
            ends: Vec::new(),
            lists: HashMap::new(),
            around: HashMap::new(),
            three_bytes: Vec::new(),
            built_values: 0,
            overflow: false,
        }
    }

    /// Ends a build: the values added so far are the build's, and the lists give back
    /// the room they grew into.
    pub(crate) fn built(mut self) -> Self {
        self.built_values = self.slots.len();
        for list in self.lists.values_mut() {
            list.shrink_to_fit();
        }
        for grams in self.around.values_mut() {
            grams.shrink_to_fit();
        }
        self.bytes.shrink_to_fit();
        self
    }

    /// The number of values of the build.
    pub(crate) fn built_values(&self) -> usize {
        self.built_values
    }

    /// Whether the values added since the build outnumber the build's (at least 1,024 of
    /// them): the lists hold more old values than they are worth, and a build is due.
    pub(crate) fn outgrown(&self) -> bool {
        self.slots.len() > 2 * self.built_values.max(1024)
    }

    /// Adds a value of `owner`.
    pub(crate) fn add(&mut self, owner: O, value: &[u8]) {
        let (Ok(slot), Ok(end)) = (
            u32::try_from(self.slots.len()),
            u32::try_from(self.bytes.len() + value.len()),
        ) else {
            self.overflow = true;
            return;
        };
        self.slots.push(owner);
        self.bytes.extend_from_slice(value);
        self.ends.push(end);
        if value.len() == 3 {
            self.three_bytes.push(slot);
        }
        for w in value.windows(4) {
            let gram = [w[0], w[1], w[2], w[3]];
            let list = match self.lists.entry(gram) {
                Entry::Occupied(list) => list.into_mut(),
                Entry::Vacant(new) => {
                    let (head, tail) = ([w[0], w[1], w[2]], [w[1], w[2], w[3]]);
                    self.around.entry(head).or_default().push(gram);
                    if tail != head {
                        self.around.entry(tail).or_default().push(gram);
                    }
                    new.insert(Vec::new())
                }
            };
            if list.last() != Some(&slot) {
                list.push(slot);
            }
        }
    }

    /// The bytes of the value in `slot`.
    fn value(&self, slot: u32) -> Option<&[u8]> {
        let i = usize::try_from(slot).ok()?;
        let start = match i.checked_sub(1) {
            Some(prev) => usize::try_from(*self.ends.get(prev)?).ok()?,
            None => 0,
        };
        let end = usize::try_from(*self.ends.get(i)?).ok()?;
        self.bytes.get(start..end)
    }

    /// The owners (sorted, distinct) of the values the index holds that satisfy the
    /// probe (`co` / `ew` on its operand of three bytes or more): the values holding every
    /// 4-gram of the operand, or for three bytes those in the lists of the 4-grams around
    /// it and those of exactly its bytes, tested byte by byte. `None` when the operand is
    /// shorter, the index is incomplete, or they are not few enough to beat one pass over
    /// the rows.
    pub(crate) fn candidates(&self, op: CompareOp, operand: &str) -> Option<Vec<O>> {
        if self.overflow {
            return None;
        }
        let operand = operand.as_bytes();
        let slots = match operand {
            [a, b, c] => self.around_three([*a, *b, *c], op)?,
            _ if operand.len() < SHORTEST_OPERAND => return None,
            _ => self.holding_all(operand),
        };
        let holds = |v: &[u8]| match op {
            CompareOp::Ew => v.ends_with(operand),
            _ => v.windows(operand.len()).any(|w| w == operand),
        };
        let holding: Vec<u32> = slots
            .into_iter()
            .filter(|&s| self.value(s).is_some_and(holds))
            .collect();
        if self.not_few(holding.len()) {
            return None;
        }
        let mut owners: Vec<O> = holding
            .into_iter()
            .filter_map(|s| {
                usize::try_from(s)
                    .ok()
                    .and_then(|s| self.slots.get(s).copied())
            })
            .collect();
        owners.sort_unstable();
        owners.dedup();
        Some(owners)
    }

    /// Whether `n` values are a quarter of the path's or more, where one pass over the rows
    /// costs less than a search per candidate.
    fn not_few(&self, n: usize) -> bool {
        n.saturating_mul(4) > self.slots.len()
    }

    /// The slots (ascending) of the values holding every 4-gram of `operand` (four bytes or
    /// more): the shortest list intersected with the others.
    fn holding_all(&self, operand: &[u8]) -> Vec<u32> {
        let mut lists: Vec<&[u32]> = Vec::new();
        for w in operand.windows(4) {
            match self.lists.get(&[w[0], w[1], w[2], w[3]]) {
                Some(list) => lists.push(list),
                None => return Vec::new(),
            }
        }
        // Shortest first; a 4-gram the operand holds twice once.
        lists.sort_by_key(|l| (l.len(), l.as_ptr()));
        lists.dedup_by(|a, b| std::ptr::eq(*a, *b));
        let Some((first, rest)) = lists.split_first() else {
            return Vec::new();
        };
        let mut slots: Vec<u32> = first.to_vec();
        for list in rest {
            slots = intersect(&slots, list);
            if slots.is_empty() {
                break;
            }
        }
        slots
    }

    /// The slots (ascending, distinct) of the values that may hold the three bytes
    /// `three`: those of the 4-grams that start or end with them, and the values of
    /// exactly three bytes. `None` for `co`, before their union, when one 4-gram alone is
    /// in values that are [`not_few`](Self::not_few): every value of its list holds them.
    fn around_three(&self, three: [u8; 3], op: CompareOp) -> Option<Vec<u32>> {
        let lists: Vec<&[u32]> = self
            .around
            .get(&three)
            .into_iter()
            .flatten()
            .filter_map(|gram| self.lists.get(gram).map(Vec::as_slice))
            .collect();
        if op == CompareOp::Co && lists.iter().any(|l| self.not_few(l.len())) {
            return None;
        }
        let mut slots: Vec<u32> = self.three_bytes.clone();
        for list in lists {
            slots.extend_from_slice(list);
        }
        slots.sort_unstable();
        slots.dedup();
        Some(slots)
    }
}

/// The slots in both ascending lists: a merge, or one binary search per slot of `a` when
/// `b` is much longer.
fn intersect(a: &[u32], b: &[u32]) -> Vec<u32> {
    if b.len() / 16 > a.len() {
        return a
            .iter()
            .copied()
            .filter(|s| b.binary_search(s).is_ok())
            .collect();
    }
    let mut out = Vec::with_capacity(a.len().min(b.len()));
    let (mut i, mut j) = (0, 0);
    while let (Some(&x), Some(&y)) = (a.get(i), b.get(j)) {
        match x.cmp(&y) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(x);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn index(values: &[(i64, &str)]) -> Grams<i64> {
        let mut t = Grams::new();
        for (seq, v) in values {
            t.add(*seq, v.as_bytes());
        }
        t.built()
    }

    fn find(t: &Grams<i64>, operand: &str) -> Option<Vec<i64>> {
        t.candidates(CompareOp::Co, operand)
    }

    #[test]
    fn candidates_hold_every_value_containing_the_operand() {
        let mut values = vec![(1, "u50@example.com"), (2, "u500@example.com")];
        values.extend((3..40).map(|i| (i, "someone@else.org")));
        let t = index(&values);
        assert_eq!(find(&t, "u50@"), Some(vec![1]));
        assert_eq!(find(&t, "u50"), Some(vec![1, 2]));
        assert_eq!(find(&t, "nobody"), Some(vec![]));
        // Most values contain it: a pass over the rows is cheaper.
        assert_eq!(find(&t, "else.org"), None);
        // Fewer than three bytes: no 4-gram holds it or starts or ends with it.
        assert_eq!(find(&t, "u5"), None);
    }

    #[test]
    fn grams_are_bytes_so_any_utf8_operand_is_found() {
        let mut values = vec![(7, "jürgen@example.com"), (8, "日本語のメール")];
        values.extend((10..40).map(|i| (i, "x@y.org")));
        let t = index(&values);
        assert_eq!(find(&t, "ürg"), Some(vec![7]));
        assert_eq!(find(&t, "本語"), Some(vec![8]));
    }

    #[test]
    fn the_values_are_tested_byte_by_byte() {
        let mut values = vec![(1, "xaaaax"), (2, "aaaaa@x.org"), (3, "zaaaaa")];
        values.extend((10..40).map(|i| (i, "zzzz")));
        let t = index(&values);
        // Value 1 holds the one 4-gram of "aaaaa" but not "aaaaa".
        assert_eq!(find(&t, "aaaaa"), Some(vec![2, 3]));
        assert_eq!(t.candidates(CompareOp::Ew, "aaaaa"), Some(vec![3]));
        assert_eq!(intersect(&[1, 3, 5, 7], &[2, 3, 4, 7, 9]), [3, 7]);
        let long: Vec<u32> = (0..1000).collect();
        assert_eq!(intersect(&[5, 999, 1000], &long), [5, 999]);
    }

    /// Three bytes sit inside a 4-gram that starts or ends with them, or are a whole value.
    #[test]
    fn an_operand_of_three_bytes_is_found_at_every_place() {
        let mut values = vec![
            (1, "abc"),
            (2, "abcz"),
            (3, "zabc"),
            (4, "zzabczz"),
            (5, "abxc"),
            (6, "ab"),
        ];
        values.extend((10..40).map(|i| (i, "zzzz")));
        let t = index(&values);
        assert_eq!(find(&t, "abc"), Some(vec![1, 2, 3, 4]));
        assert_eq!(t.candidates(CompareOp::Ew, "abc"), Some(vec![1, 3]));
        assert_eq!(find(&t, "bxc"), Some(vec![5]));
        assert_eq!(find(&t, "xyz"), Some(vec![]));
        // "zzz" ends and starts the same 4-gram "zzzz": its values once.
        assert_eq!(find(&t, "zzz"), None);
        assert_eq!(find(&t, "zab"), Some(vec![3, 4]));
    }

    #[test]
    fn a_value_added_again_keeps_its_resource_once() {
        let mut values = vec![(1, "aaaa"), (1, "aaab")];
        values.extend((10..40).map(|i| (i, "zzzz")));
        let t = index(&values);
        assert_eq!(find(&t, "aaa"), Some(vec![1]));
    }

    proptest! {
        /// The candidates are exactly the resources with a value that holds (or for `ew`
        /// ends with) the operand, over a small alphabet where 4-grams repeat and overlap;
        /// none when those values are a quarter of all or more.
        #[test]
        fn candidates_are_exactly_the_values_holding_the_operand(
            values in proptest::collection::vec((0i64..12, "[ab@.]{0,9}"), 1..40),
            operand in "[ab@.]{3,6}",
            ends_with in any::<bool>(),
        ) {
            let t = index(&values.iter().map(|(s, v)| (*s, v.as_str())).collect::<Vec<_>>());
            let op = if ends_with { CompareOp::Ew } else { CompareOp::Co };
            let holding: Vec<i64> = values
                .iter()
                .filter(|(_, v)| if ends_with { v.ends_with(&operand) } else { v.contains(&operand) })
                .map(|(s, _)| *s)
                .collect();
            let few = holding.len() * 4 <= values.len();
            let mut want = holding;
            want.sort_unstable();
            want.dedup();
            let want = few.then_some(want);
            prop_assert_eq!(t.candidates(op, &operand), want);
        }
    }
}
