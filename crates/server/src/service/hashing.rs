//! The Argon2 work of sign-ins, sign-ups and password changes, on threads of its own.
//!
//! A fixed number of threads (by default one per core) take jobs from one queue, so at
//! most that many hashes run at once and a sign-in flood cannot take the runtime's
//! workers. A busy thread goes from one hash to the next without sleeping, where a
//! blocking task per hash paid a thread wake-up and a hand-off of the permit each
//! time. A job whose caller went away (the client hung up) while it waited is skipped.

use super::{ServiceError, ServiceResult};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{mpsc, Arc, Mutex};
use tokio::sync::oneshot;

type Job = Box<dyn FnOnce() + Send>;

/// The hashing threads and their queue. The threads stop when it is dropped.
pub struct HashPool {
    queue: mpsc::Sender<Job>,
}

impl HashPool {
    /// Starts `threads` hashing threads (at least one).
    pub fn start(threads: usize) -> std::io::Result<HashPool> {
        let (queue, jobs) = mpsc::channel::<Job>();
        let jobs = Arc::new(Mutex::new(jobs));
        for i in 0..threads.max(1) {
            let jobs = jobs.clone();
            std::thread::Builder::new()
                .name(format!("hearth-hash-{i}"))
                .spawn(move || loop {
                    // The lock is held only while waiting for the next job.
                    let next = match jobs.lock() {
                        Ok(jobs) => jobs.recv(),
                        Err(_) => return,
                    };
                    match next {
                        // A panicking job fails its caller only, not the thread.
                        Ok(job) => drop(catch_unwind(AssertUnwindSafe(job))),
                        Err(_) => return,
                    }
                })?;
        }
        Ok(HashPool { queue })
    }

    /// Runs `work` on a hashing thread when one is free, and returns what it returns.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> ServiceResult<T> {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move || {
            if !reply.is_closed() {
                let _ = reply.send(work());
            }
        });
        self.queue
            .send(job)
            .map_err(|_| ServiceError::Internal("the hashing threads have stopped".into()))?;
        answer
            .await
            .map_err(|_| ServiceError::Internal("a hashing job failed".into()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Context, Poll, Waker};
    use std::time::Duration;

    /// Polls a future once, as a runtime would before it is woken.
    fn poll_once<F: Future + Unpin>(f: &mut F) -> Option<F::Output> {
        match Pin::new(f).poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(v) => Some(v),
            Poll::Pending => None,
        }
    }

    #[tokio::test]
    async fn jobs_run_on_that_many_threads_at_once() {
        let pool = Arc::new(HashPool::start(2).unwrap());
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let jobs = (0..8u64).map(|i| {
            let (pool, running, most) = (pool.clone(), running.clone(), most.clone());
            tokio::spawn(async move {
                pool.run(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(20));
                    running.fetch_sub(1, Ordering::SeqCst);
                    i * i
                })
                .await
                .unwrap()
            })
        });
        let mut results = Vec::new();
        for j in jobs.collect::<Vec<_>>() {
            results.push(j.await.unwrap());
        }
        assert_eq!(results, (0..8u64).map(|i| i * i).collect::<Vec<_>>());
        assert!(
            most.load(Ordering::SeqCst) <= 2,
            "more hashes at once than threads"
        );
    }

    #[tokio::test]
    async fn two_threads_hash_side_by_side() {
        // Each job waits for the other to start: with one thread this never finishes.
        let pool = HashPool::start(2).unwrap();
        let (a_tx, a_rx) = mpsc::channel::<()>();
        let (b_tx, b_rx) = mpsc::channel::<()>();
        let wait = Duration::from_secs(30);
        let a = pool.run(move || {
            a_tx.send(()).unwrap();
            b_rx.recv_timeout(wait).is_ok()
        });
        let b = pool.run(move || {
            b_tx.send(()).unwrap();
            a_rx.recv_timeout(wait).is_ok()
        });
        let (a, b) = tokio::join!(a, b);
        assert!(a.unwrap() && b.unwrap());
    }

    #[tokio::test]
    async fn a_job_whose_caller_left_is_skipped() {
        let pool = HashPool::start(1).unwrap();
        let (release, hold) = mpsc::channel::<()>();
        let mut busy = Box::pin(pool.run(move || hold.recv().is_ok()));
        assert!(poll_once(&mut busy).is_none(), "queued, not done");
        let ran = Arc::new(AtomicUsize::new(0));
        // Queued behind the busy thread, then abandoned, as by a client hanging up.
        let counted = ran.clone();
        let mut abandoned = Box::pin(pool.run(move || counted.fetch_add(1, Ordering::SeqCst)));
        assert!(poll_once(&mut abandoned).is_none());
        drop(abandoned);
        release.send(()).unwrap();
        assert!(busy.await.unwrap());
        let counted = ran.clone();
        pool.run(move || counted.fetch_add(1, Ordering::SeqCst))
            .await
            .unwrap();
        assert_eq!(ran.load(Ordering::SeqCst), 1, "the abandoned job ran");
    }

    #[tokio::test]
    async fn a_panicking_job_fails_its_caller_and_spares_the_thread() {
        let pool = HashPool::start(1).unwrap();
        let failed = pool.run(|| -> u32 { panic!("argon2 broke") }).await;
        assert!(matches!(failed, Err(ServiceError::Internal(_))));
        assert_eq!(pool.run(|| 7).await.unwrap(), 7);
    }
}
