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
//! ([`Counters::undo_write`]): the change feed's numbers stay consecutive and the counts
//! exact.
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
    /// Per tenant, its change head: `stored` is `last_seq` in the database (0 without a
    /// row), `now` the last number handed out.
    heads: Vec<(String, Tally)>,
    /// Per scope (tenant, resource type), its number of resources as a change from the
    /// stored one: `stored` 0, `now` the inserts less the deletes.
    counts: Vec<((String, String), Tally)>,
}

/// One counter: its value in the database, now, and when the current write began.
#[derive(Debug, Clone, Copy)]
struct Tally {
    stored: i64,
    now: i64,
    at_write: i64,
}

impl Tally {
    fn new(stored: i64) -> Self {
        Tally {
            stored,
            now: stored,
            at_write: stored,
        }
    }
}

impl State {
    /// Runs `f` on every counter.
    fn each(&mut self, mut f: impl FnMut(&mut Tally)) {
        self.heads.iter_mut().for_each(|(_, t)| f(t));
        self.counts.iter_mut().for_each(|(_, t)| f(t));
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
        let i = match state.heads.iter().position(|(t, _)| t == tenant) {
            Some(i) => i,
            None => {
                let stored = clamp(last(tx, tenant)?);
                state.heads.push((tenant.to_string(), Tally::new(stored)));
                state.heads.len() - 1
            }
        };
        let head = &mut state.heads[i].1;
        head.now += n;
        Ok(head.now - n + 1)
    }

    /// The last number of `tenant`'s change feed in this transaction (handed out or not).
    pub(super) fn last_seq(&self, tx: &Connection, tenant: &str) -> Result<u64, StorageError> {
        let state = self.state.borrow();
        match state.heads.iter().find(|(t, _)| t == tenant) {
            Some((_, head)) => Ok(to_version(head.now)),
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
            .position(|((t, r), _)| t == tenant && r == rtype)
        {
            Some(i) => i,
            None => {
                let scope = (tenant.to_string(), rtype.to_string());
                state.counts.push((scope, Tally::new(0)));
                state.counts.len() - 1
            }
        };
        state.counts[i].1.now += delta;
    }

    /// Notes that a write begins: what it counts can be given back ([`Counters::undo_write`]).
    pub(super) fn begin_write(&self) {
        self.state.borrow_mut().each(|t| t.at_write = t.now);
    }

    /// Gives back what the current write counted (it was undone). A counter it was the first
    /// to move began the write at its stored value.
    pub(super) fn undo_write(&self) {
        self.state.borrow_mut().each(|t| t.now = t.at_write);
    }

    /// Writes each counter that moved, in `tx`, before its commit; they end with it.
    pub(super) fn flush(self, tx: &Connection) -> Result<(), StorageError> {
        let State { heads, counts } = self.state.into_inner();
        for (tenant, head) in heads.iter().filter(|(_, h)| h.now != h.stored) {
            tx.prepare_cached(
                "INSERT INTO change_heads (tenant, last_seq) VALUES (?1, ?2) \
                 ON CONFLICT (tenant) DO UPDATE SET last_seq = excluded.last_seq",
            )
            .and_then(|mut s| s.execute(params![tenant, head.now]))
            .map_err(backend_err)?;
        }
        for ((tenant, rtype), count) in counts.iter().filter(|(_, c)| c.now != c.stored) {
            // A delete's scope has its row (made by the insert of what it deletes).
            tx.prepare_cached(
                "INSERT INTO resource_counts (tenant, rtype, n) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (tenant, rtype) DO UPDATE SET n = n + excluded.n",
            )
            .and_then(|mut s| s.execute(params![tenant, rtype, count.now - count.stored]))
            .map_err(backend_err)?;
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
            .find(|((t, _), _)| t == tenant)
            .map_or(0, |(_, n)| n.now)
    }

    /// A write undone gives back what it counted, however many times it moved a counter
    /// (an import of many resources), and what the writes before it counted stays.
    #[test]
    fn an_undone_write_gives_back_its_counts_and_its_numbers() {
        let conn = db();
        let c = Counters::default();
        c.begin_write();
        assert_eq!(c.take_seqs(&conn, "acme", 1).unwrap(), 1);
        c.add_resources("acme", "User", 1);

        c.begin_write();
        assert_eq!(c.take_seqs(&conn, "acme", 1_000).unwrap(), 2);
        for _ in 0..1_000 {
            c.add_resources("acme", "User", 1);
        }
        c.undo_write();
        assert_eq!(count(&c, "acme"), 1);
        assert_eq!(c.last_seq(&conn, "acme").unwrap(), 1);

        // The next write numbers on from the numbers kept.
        c.begin_write();
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
