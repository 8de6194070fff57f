//! The threads password hashes run on: the server's own, at the lowest priority the
//! kernel offers, so that whatever else runs on tokio's blocking threads (the name
//! lookups behind mail and SMS delivery, say) keeps its priority.
//!
//! An unprivileged thread cannot raise its priority again once lowered, so a hash on
//! a shared blocking thread would leave that thread low for everything after it.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{mpsc, Arc, Mutex};

/// How much lower than the rest of the process a hashing thread runs (Linux `nice`)
/// where the idle scheduling class is refused. When sign-ins and access events want
/// the cores at once, the scheduler then gives the access path, and a database on the
/// same cores, about nine tenths of what is contested (BENCHMARKS.md, session 11).
pub const HASH_NICE: i32 = 10;

/// Puts the calling thread in Linux's idle scheduling class (`SCHED_IDLE`), or
/// [`HASH_NICE`] lower where that is refused.
///
/// An idle-class thread gets a core only when nothing else wants it, and any other
/// thread that wakes (a request, the write path, a database on the same cores) takes
/// the core from it at once, where a `nice` thread keeps it to the end of its slice.
/// A core nothing else wants still goes to hashing, so sign-ins alone are as fast as
/// before; while access events saturate the cores, sign-ins wait for them
/// (BENCHMARKS.md, session 14).
pub fn lower_this_thread() {
    #[cfg(target_os = "linux")]
    // SAFETY: sched_setscheduler reads the parameter we pass and setpriority takes
    // plain integers; on Linux, pid 0 names the calling thread alone.
    unsafe {
        let param = libc::sched_param { sched_priority: 0 };
        if libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) != 0 {
            libc::setpriority(libc::PRIO_PROCESS, 0, HASH_NICE);
        }
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// The CPU time the calling thread has used, where the platform tells.
pub fn thread_cpu_time() -> Option<std::time::Duration> {
    #[cfg(target_os = "linux")]
    {
        let mut t = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime writes one timespec we own.
        if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) } == 0 {
            return Some(std::time::Duration::new(
                u64::try_from(t.tv_sec).ok()?,
                u32::try_from(t.tv_nsec).ok()?,
            ));
        }
    }
    None
}

/// A fixed set of lowered threads that run hashes handed to them. They stop once
/// this handle is dropped and the hashes queued before have run.
pub struct HashThreads {
    jobs: mpsc::Sender<Job>,
}

/// A hash handed over did not complete: it panicked, or the threads are gone.
#[derive(Debug, thiserror::Error)]
#[error("the password hash did not complete")]
pub struct Stopped;

impl HashThreads {
    /// Starts `n` threads (at least one), each lowered once.
    pub fn start(n: usize) -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..n.max(1) {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("hearth-hash-{i}"))
                .spawn(move || {
                    lower_this_thread();
                    loop {
                        // One thread waits on the queue, the others on the lock.
                        let next = match queue.lock() {
                            Ok(q) => q.recv(),
                            Err(_) => return,
                        };
                        let Ok(job) = next else { return };
                        // A panicking hash fails its own caller (its reply is
                        // dropped), not the thread.
                        let _ = catch_unwind(AssertUnwindSafe(job));
                    }
                })?;
        }
        Ok(Self { jobs })
    }

    /// Runs `f` on a hashing thread and waits for its result. Should the caller give
    /// up first (a request timed out, a client went away), a hash that has not
    /// started yet is skipped rather than computed for no one.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Stopped> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(move || {
                if !reply.is_closed() {
                    let _ = reply.send(f());
                }
            }))
            .map_err(|_| Stopped)?;
        answer.await.map_err(|_| Stopped)
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering::SeqCst};

    /// (scheduling policy, nice) of the calling thread.
    fn class() -> (i32, i32) {
        // SAFETY: both take plain integers and touch no memory of ours; pid 0 is the
        // calling thread.
        unsafe {
            (
                libc::sched_getscheduler(0),
                libc::getpriority(libc::PRIO_PROCESS, 0),
            )
        }
    }

    /// Hashes run lowered and the thread that asked keeps its class (tokio's
    /// blocking threads: `hashing_leaves_the_blocking_threads_at_full_priority`).
    #[tokio::test]
    async fn hashes_run_lowered_and_the_caller_does_not() {
        let before = class();
        assert_eq!(before.0, libc::SCHED_OTHER);
        let threads = HashThreads::start(2).unwrap();
        for _ in 0..4 {
            let (policy, nice) = threads.run(class).await.unwrap();
            assert!(
                policy == libc::SCHED_IDLE || nice == HASH_NICE,
                "a hash ran at policy {policy}, nice {nice}"
            );
        }
        assert_eq!(class(), before);
    }

    /// A hash that panics fails its own caller only: the threads go on.
    #[tokio::test]
    async fn a_panicking_hash_fails_alone() {
        let threads = HashThreads::start(1).unwrap();
        assert!(threads.run(|| -> u8 { panic!("boom") }).await.is_err());
        assert_eq!(threads.run(|| 7).await.unwrap(), 7);
    }

    /// Polls `f` once: whether it is still waiting.
    fn pending<F: std::future::Future + Unpin>(f: &mut F) -> bool {
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        std::pin::Pin::new(f).poll(&mut cx).is_pending()
    }

    /// A hash whose caller gave up before it started is not computed.
    #[tokio::test]
    async fn a_hash_nobody_waits_for_is_skipped() {
        let threads = HashThreads::start(1).unwrap();
        let (release, held) = mpsc::channel::<()>();
        // The only thread is busy until released.
        let mut busy = Box::pin(threads.run(move || held.recv().is_ok()));
        assert!(pending(&mut busy));
        let ran = Arc::new(AtomicBool::new(false));
        let flag = ran.clone();
        let mut abandoned = Box::pin(threads.run(move || flag.store(true, SeqCst)));
        assert!(pending(&mut abandoned));
        drop(abandoned);
        release.send(()).unwrap();
        assert!(busy.await.unwrap());
        // The thread takes jobs in order: once this one ran, the abandoned one was
        // taken and passed over.
        assert_eq!(threads.run(|| 1).await.unwrap(), 1);
        assert!(!ran.load(SeqCst));
    }

    /// Hashes queued before the handle is dropped still run.
    #[test]
    fn queued_hashes_run_after_the_handle_is_dropped() {
        let threads = HashThreads::start(2).unwrap();
        let (tx, rx) = mpsc::channel();
        for i in 0..3 {
            let tx = tx.clone();
            threads
                .jobs
                .send(Box::new(move || tx.send(i).unwrap()))
                .unwrap();
        }
        drop(tx);
        drop(threads);
        let mut ran: Vec<i32> = rx.iter().collect();
        ran.sort_unstable();
        assert_eq!(ran, [0, 1, 2]);
    }
}
