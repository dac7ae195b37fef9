//! The counters one transaction of the writer (a batch of writes, see `group_commit.rs`)
//! moves: each tenant's change head (`change_heads.last_seq`, see `changes.rs`) and each
//! scope's number of resources (`resource_counts`). They are counted in memory and written
//! once per transaction, just before its commit ([`Counters::flush`]).
//!
//! The transaction holds the database's write lock from its `BEGIN IMMEDIATE` to its
//! commit, so no other connection moves a counter meanwhile: a change head read once, at
//! the batch's first change of the tenant, stays the tenant's until the commit, and a
//! number of resources can be written as the sum of the batch's inserts and deletes.
//! Written per write instead (an upsert per counter and write, the change head's with
//! `RETURNING`), they were about a ninth of the writer's work per created user (callgrind:
//! 25,000 of 217,000 instructions). A write that is undone gives its share back
//! ([`Counters::undo_to`]): the change feed's numbers stay consecutive and the counts exact.
//!
//! Nothing in a write transaction reads `resource_counts` (the queries read it in their own
//! snapshots, which see only committed transactions); a prune reads the change head through
//! [`Counters::last_seq`], which sees the numbers handed out before it.

use std::cell::RefCell;

use rusqlite::{Connection, params};

use super::backend_err;
use super::changes::last;
use crate::storage::StorageError;
use crate::storage::sql::{clamp, to_version};

/// The counters of one transaction of the writer (see the module's introduction).
#[derive(Debug, Default)]
pub(super) struct Counters {
    state: RefCell<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Per tenant: its name, its `last_seq` in the database (0 without a row) and the last
    /// number handed out.
    heads: Vec<(String, i64, i64)>,
    /// Per scope (tenant, resource type): the resources inserted less those deleted.
    counts: Vec<(String, String, i64)>,
    /// What to give back to undo a write: each counter it moved and the counter's value at
    /// the write's [mark](Counters::mark), once per counter (an import of many resources
    /// moves one count many times).
    undo: Vec<Undo>,
    /// Where the latest mark's entries of `undo` begin.
    marked: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Undo {
    Head(usize, i64),
    Count(usize, i64),
}

impl Undo {
    /// Which counter the entry restores.
    fn counter(self) -> (bool, usize) {
        match self {
            Undo::Head(i, _) => (true, i),
            Undo::Count(i, _) => (false, i),
        }
    }
}

impl State {
    /// Records `entry` unless its counter has one since the latest mark already (the value
    /// at the mark is the one to give back).
    fn remember(&mut self, entry: Undo) {
        let since_mark = self.undo.get(self.marked..).unwrap_or_default();
        if !since_mark.iter().any(|e| e.counter() == entry.counter()) {
            self.undo.push(entry);
        }
    }
}

impl Counters {
    /// Hands out `n` numbers of `tenant`'s change feed; returns the first.
    pub(super) fn take_seqs(
        &self,
        tx: &Connection,
        tenant: &str,
        n: i64,
    ) -> Result<i64, StorageError> {
        let mut state = self.state.borrow_mut();
        let i = match state.heads.iter().position(|(t, _, _)| t == tenant) {
            Some(i) => i,
            None => {
                let stored = clamp(last(tx, tenant)?);
                state.heads.push((tenant.to_string(), stored, stored));
                state.heads.len() - 1
            }
        };
        let before = state.heads[i].2;
        state.heads[i].2 = before + n;
        state.remember(Undo::Head(i, before));
        Ok(before + 1)
    }

    /// The last number of `tenant`'s change feed in this transaction (handed out or not).
    pub(super) fn last_seq(&self, tx: &Connection, tenant: &str) -> Result<u64, StorageError> {
        let state = self.state.borrow();
        match state.heads.iter().find(|(t, _, _)| t == tenant) {
            Some((_, _, last)) => Ok(to_version(*last)),
            None => last(tx, tenant),
        }
    }

    /// Adds `delta` to the number of resources of `tenant`'s type `rtype` (1 for an insert,
    /// -1 for a delete).
    pub(super) fn add_resources(&self, tenant: &str, rtype: &str, delta: i64) {
        let mut state = self.state.borrow_mut();
        let i = match state
            .counts
            .iter()
            .position(|(t, r, _)| t == tenant && r == rtype)
        {
            Some(i) => i,
            None => {
                state
                    .counts
                    .push((tenant.to_string(), rtype.to_string(), 0));
                state.counts.len() - 1
            }
        };
        let before = state.counts[i].2;
        state.counts[i].2 = before + delta;
        state.remember(Undo::Count(i, before));
    }

    /// A mark to give back what was counted after it ([`Counters::undo_to`]).
    pub(super) fn mark(&self) -> usize {
        let mut state = self.state.borrow_mut();
        state.marked = state.undo.len();
        state.marked
    }

    /// Gives back what was counted since `mark`, the latest mark (its write was undone).
    pub(super) fn undo_to(&self, mark: usize) {
        let mut state = self.state.borrow_mut();
        while state.undo.len() > mark {
            match state.undo.pop() {
                Some(Undo::Head(i, before)) => state.heads[i].2 = before,
                Some(Undo::Count(i, before)) => state.counts[i].2 = before,
                None => break,
            }
        }
    }

    /// Writes each counter that moved, in `tx`, before its commit.
    pub(super) fn flush(&self, tx: &Connection) -> Result<(), StorageError> {
        let mut state = self.state.borrow_mut();
        let State {
            heads,
            counts,
            undo,
            marked,
        } = &mut *state;
        undo.clear();
        *marked = 0;
        for (tenant, stored, last) in heads.iter_mut().filter(|(_, s, l)| s != l) {
            tx.prepare_cached(
                "INSERT INTO change_heads (tenant, last_seq) VALUES (?1, ?2) \
                 ON CONFLICT (tenant) DO UPDATE SET last_seq = excluded.last_seq",
            )
            .and_then(|mut s| s.execute(params![&*tenant, *last]))
            .map_err(backend_err)?;
            *stored = *last;
        }
        for (tenant, rtype, delta) in counts.iter_mut().filter(|(_, _, d)| *d != 0) {
            // A delete's scope has its row (made by the insert of what it deletes).
            tx.prepare_cached(
                "INSERT INTO resource_counts (tenant, rtype, n) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (tenant, rtype) DO UPDATE SET n = n + excluded.n",
            )
            .and_then(|mut s| s.execute(params![&*tenant, &*rtype, *delta]))
            .map_err(backend_err)?;
            *delta = 0;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&mut conn).unwrap();
        conn
    }

    fn count(c: &Counters, tenant: &str) -> i64 {
        let state = c.state.borrow();
        state
            .counts
            .iter()
            .find(|(t, _, _)| t == tenant)
            .map_or(0, |(_, _, n)| *n)
    }

    /// A write undone gives back what it counted, however many times it moved a counter,
    /// and what the writes before it counted stays; the undo record holds one entry per
    /// counter and write, not one per change (an import of many resources).
    #[test]
    fn an_undone_write_gives_back_its_counts_and_its_numbers() {
        let conn = db();
        let c = Counters::default();
        c.mark();
        assert_eq!(c.take_seqs(&conn, "acme", 1).unwrap(), 1);
        c.add_resources("acme", "User", 1);

        let mark = c.mark();
        assert_eq!(c.take_seqs(&conn, "acme", 1_000).unwrap(), 2);
        for _ in 0..1_000 {
            c.add_resources("acme", "User", 1);
        }
        assert_eq!(c.state.borrow().undo.len(), mark + 2);
        c.undo_to(mark);
        assert_eq!(count(&c, "acme"), 1);
        assert_eq!(c.last_seq(&conn, "acme").unwrap(), 1);

        // The next write numbers on from the numbers kept.
        c.mark();
        assert_eq!(c.take_seqs(&conn, "acme", 2).unwrap(), 2);
        c.flush(&conn).unwrap();
        let stored: (i64, i64) = conn
            .query_row(
                "SELECT (SELECT last_seq FROM change_heads WHERE tenant = 'acme'), \
                 (SELECT n FROM resource_counts WHERE tenant = 'acme' AND rtype = 'User')",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(stored, (3, 1));
    }
}
