//! Password hashing on threads of its own, at a lower CPU priority than request
//! handling. A sign-in's Argon2 hash takes tens of milliseconds of a core; at normal
//! priority a burst of sign-ins takes the CPU from the playback checks, whose answers
//! are due in milliseconds. Niced, the hashes take what the CPU has left and still all
//! of it when nothing else runs. Hashes wait in the queue when every thread is busy.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};

type Job = Box<dyn FnOnce() + Send>;

pub struct HashPool {
    jobs: Mutex<mpsc::Sender<Job>>,
}

#[derive(Debug, thiserror::Error)]
#[error("the hashing threads have stopped")]
pub struct Stopped;

impl HashPool {
    /// Starts `threads` hashing threads at the given nice value (0 keeps the process's
    /// priority; raising it needs no privilege).
    pub fn start(threads: usize, nice: i32) -> std::io::Result<HashPool> {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads.max(1) {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("hearth-hash-{i}"))
                .spawn(move || {
                    lower_priority(nice);
                    loop {
                        let job = match rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                })?;
        }
        Ok(HashPool {
            jobs: Mutex::new(tx),
        })
    }

    /// Runs `f` on a hashing thread and waits for it without blocking the runtime.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Stopped> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = reply.send(f());
        });
        self.jobs
            .lock()
            .map_err(|_| Stopped)?
            .send(job)
            .map_err(|_| Stopped)?;
        answer.await.map_err(|_| Stopped)
    }
}

/// Sets the calling thread's nice value (Linux schedules threads one by one).
#[cfg(target_os = "linux")]
fn lower_priority(nice: i32) {
    if nice <= 0 {
        return;
    }
    // SAFETY: plain system calls on the calling thread's own id; no memory is shared.
    let r = unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, nice)
    };
    if r != 0 {
        tracing::warn!(error = %std::io::Error::last_os_error(), "could not lower the hashing threads' priority");
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority(_nice: i32) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_jobs_on_niced_threads_and_answers_each_caller() {
        let pool = HashPool::start(2, 7).unwrap();
        let mut answers = Vec::new();
        for i in 0..6u32 {
            answers.push(pool.run(move || {
                let name = std::thread::current().name().map(str::to_owned);
                // Field 19 of /proc/thread-self/stat is the nice value.
                let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
                let nice = stat
                    .rsplit(')')
                    .next()
                    .and_then(|r| r.split_whitespace().nth(16))
                    .map(str::to_owned);
                (i * 2, name, nice)
            }));
        }
        for (i, a) in answers.into_iter().enumerate() {
            let (double, name, nice) = a.await.unwrap();
            assert_eq!(double, i as u32 * 2);
            assert!(name.unwrap().starts_with("hearth-hash-"));
            if cfg!(target_os = "linux") {
                assert_eq!(nice.as_deref(), Some("7"));
            }
        }
    }
}
