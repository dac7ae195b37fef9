//! Batches of requests that arrive together: the queue behind group commit (creates,
//! `group_commit.rs`) and group reads (GETs, `group_read.rs`).
//!
//! A request queues itself under its key (a tenant and resource type); a task per key,
//! started by a request that finds fewer than `max_workers` of them running, takes every
//! queued request (at most `max_batch`) and answers them with one transaction or statement,
//! then takes the next batch, until the queue is empty. Nothing waits for a batch to fill:
//! a request that finds a worker free is run at once, alone, and requests gather only
//! while every worker of their key is busy with a batch, so a batch costs a lone request
//! nothing and a burst pays one round trip (and one statement for PostgreSQL to run) per
//! batch instead of per request.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::oneshot;

use crate::storage::StorageError;

/// The answer to one request of a batch.
pub(super) type Answer<O> = Result<O, StorageError>;

/// The requests waiting, per key, and the tasks answering them.
pub(super) struct Batches<K, I, O> {
    queues: Mutex<HashMap<K, Queue<I, O>>>,
    /// The most requests one batch takes (the rest wait for the next one).
    max_batch: usize,
    /// The most tasks answering batches of one key at once.
    max_workers: usize,
}

struct Queue<I, O> {
    waiting: Vec<(I, oneshot::Sender<Answer<O>>)>,
    workers: usize,
}

impl<I, O> Default for Queue<I, O> {
    fn default() -> Self {
        Queue {
            waiting: Vec::new(),
            workers: 0,
        }
    }
}

impl<K, I, O> Batches<K, I, O>
where
    K: Eq + Hash + Clone + Send + Sync + 'static,
    I: Send + 'static,
    O: Send + 'static,
{
    pub(super) fn new(max_batch: usize, max_workers: usize) -> Self {
        Batches {
            queues: Mutex::new(HashMap::new()),
            max_batch: max_batch.max(1),
            max_workers: max_workers.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<K, Queue<I, O>>> {
        self.queues.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `item` under `key` and waits for its answer. When fewer than `max_workers`
    /// tasks answer the key's queue, a new one is started with the batch runner `runner()`
    /// makes; a runner answers a batch with one answer per item, in order.
    pub(super) async fn submit<R, F>(
        self: &Arc<Self>,
        key: K,
        item: I,
        runner: impl FnOnce() -> R,
    ) -> Answer<O>
    where
        R: FnMut(Vec<I>) -> F + Send + 'static,
        F: Future<Output = Vec<Answer<O>>> + Send,
    {
        let (answer, answered) = oneshot::channel();
        let start = {
            let mut queues = self.lock();
            let q = queues.entry(key.clone()).or_default();
            q.waiting.push((item, answer));
            let start = q.workers < self.max_workers;
            if start {
                q.workers += 1;
            }
            start
        };
        if start {
            let this = Arc::clone(self);
            let run = runner();
            tokio::spawn(async move { this.drain(key, run).await });
        }
        answered.await.unwrap_or_else(|_| {
            Err(StorageError::backend(
                "postgres: a request was dropped before its batch was run",
            ))
        })
    }

    /// Answers batches of the queue of `key` until it is empty.
    async fn drain<R, F>(self: Arc<Self>, key: K, mut run: R)
    where
        R: FnMut(Vec<I>) -> F,
        F: Future<Output = Vec<Answer<O>>>,
    {
        let mut guard = DrainGuard {
            batches: &self,
            key,
            armed: true,
            in_flight: Vec::new(),
        };
        loop {
            let batch: Vec<(I, oneshot::Sender<Answer<O>>)> = {
                let mut queues = self.lock();
                let Some(q) = queues.get_mut(&guard.key) else {
                    break;
                };
                if q.waiting.is_empty() {
                    q.workers -= 1;
                    if q.workers == 0 {
                        queues.remove(&guard.key);
                    }
                    break;
                }
                let n = q.waiting.len().min(self.max_batch);
                q.waiting.drain(..n).collect()
            };
            let (items, answers): (Vec<I>, Vec<_>) = batch.into_iter().unzip();
            guard.in_flight = answers;
            let mut results = run(items).await.into_iter();
            for answer in std::mem::take(&mut guard.in_flight) {
                let result = results.next().unwrap_or_else(|| {
                    Err(StorageError::backend(
                        "postgres: a batch gave fewer answers than it had requests",
                    ))
                });
                // A request whose caller stopped waiting was run all the same.
                let _ = answer.send(result);
            }
        }
        guard.armed = false;
    }
}

/// `n` copies of the answer `e` (a batch that failed as a whole fails each of its requests).
pub(super) fn fail_all<O>(e: &StorageError, n: usize) -> Vec<Answer<O>> {
    (0..n)
        .map(|_| Err(StorageError::new(e.kind().clone(), e.to_string())))
        .collect()
}

/// Counts a task out when it ends without emptying its queue (it panicked), failing the
/// requests left waiting when it was the last, so that the next request starts a new task;
/// then fails the requests of the batch it was running (in this order: a caller answered
/// finds the task counted out, and a request it sends next starts a new one).
struct DrainGuard<'a, K: Eq + Hash, I, O> {
    batches: &'a Batches<K, I, O>,
    key: K,
    armed: bool,
    /// The answers of the batch being run.
    in_flight: Vec<oneshot::Sender<Answer<O>>>,
}

impl<K: Eq + Hash, I, O> Drop for DrainGuard<'_, K, I, O> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let stopped = || {
            Err(StorageError::backend(
                "postgres: the task answering a batch of requests stopped",
            ))
        };
        {
            let mut queues = self
                .batches
                .queues
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if let Some(q) = queues.get_mut(&self.key) {
                q.workers = q.workers.saturating_sub(1);
                if q.workers == 0 {
                    for (_, answer) in q.waiting.drain(..) {
                        let _ = answer.send(stopped());
                    }
                }
            }
        }
        for answer in self.in_flight.drain(..) {
            let _ = answer.send(stopped());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Requests that arrive while the only worker is busy are answered together, each with
    /// its own answer, in order; a lone request runs at once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn requests_waiting_for_a_busy_worker_share_its_next_batch() {
        let batches: Arc<Batches<&'static str, u32, u32>> = Arc::new(Batches::new(100, 1));
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let (release, gate) = tokio::sync::watch::channel(false);
        let runner = |sizes: Arc<Mutex<Vec<usize>>>, gate: tokio::sync::watch::Receiver<bool>| {
            move |items: Vec<u32>| {
                let sizes = Arc::clone(&sizes);
                let mut gate = gate.clone();
                async move {
                    sizes.lock().unwrap().push(items.len());
                    let _ = gate.wait_for(|open| *open).await;
                    items.into_iter().map(|i| Ok(i * 10)).collect()
                }
            }
        };
        let first = {
            let (b, s, g) = (Arc::clone(&batches), Arc::clone(&sizes), gate.clone());
            tokio::spawn(async move { b.submit("k", 1, || runner(s, g)).await })
        };
        while sizes.lock().unwrap().is_empty() {
            tokio::task::yield_now().await;
        }
        let mut rest = Vec::new();
        for i in 2..=6 {
            let (b, s, g) = (Arc::clone(&batches), Arc::clone(&sizes), gate.clone());
            rest.push(tokio::spawn(async move {
                b.submit("k", i, || runner(s, g)).await
            }));
        }
        while batches.lock().get("k").map_or(0, |q| q.waiting.len()) < 5 {
            tokio::task::yield_now().await;
        }
        release.send(true).unwrap();
        assert_eq!(first.await.unwrap().unwrap(), 10);
        for (i, r) in (2..=6).zip(rest) {
            assert_eq!(r.await.unwrap().unwrap(), i * 10);
        }
        assert_eq!(*sizes.lock().unwrap(), vec![1, 5]);
        assert!(batches.lock().is_empty(), "the worker left its empty queue");
    }

    /// A runner that panics fails the requests still waiting instead of leaving them
    /// unanswered, and the next request starts a new worker.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_runner_fails_the_waiting_and_the_next_request_runs() {
        let batches: Arc<Batches<&'static str, u32, u32>> = Arc::new(Batches::new(100, 1));
        let calls = Arc::new(AtomicUsize::new(0));
        let runner = |calls: Arc<AtomicUsize>| {
            move |items: Vec<u32>| {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                async move {
                    assert!(n > 0, "the first batch panics");
                    items.into_iter().map(Ok).collect()
                }
            }
        };
        let c = Arc::clone(&calls);
        let failed = batches.submit("k", 1, || runner(c)).await;
        assert!(failed.is_err());
        // Answered only once the task was counted out: this request starts a new one.
        let c = Arc::clone(&calls);
        assert_eq!(batches.submit("k", 2, || runner(c)).await.unwrap(), 2);
    }
}
