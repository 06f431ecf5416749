//! Group commit of pushes: the pushes of one tenant that arrive while its previous transaction
//! runs (in this process) share the next one. Each is decided in arrival order against what
//! the ones before it wrote, exactly as if committed one by one, with its own outcomes; the
//! transaction, its round trips and its commit's flush are shared. Across processes the
//! tenant's head row still orders the transactions.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use annals::core::{AppendRequest, Chaining};
use deadpool_postgres::Pool;
use tokio::sync::oneshot;

use crate::pg::{self, BatchResult, DbError, TenantId};

/// At most this many events go into one shared transaction (one push may exceed it alone).
pub const GROUP_EVENTS: usize = 10_000;

/// The queues of every tenant pushed to by this process. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Committer {
    pool: Pool,
    queues: Arc<Mutex<HashMap<TenantId, Arc<Mutex<Queue>>>>>,
}

#[derive(Debug, Default)]
struct Queue {
    pending: Vec<Job>,
    /// A task is committing this tenant's pushes (and will take what is pending next).
    running: bool,
}

#[derive(Debug)]
struct Job {
    requests: Arc<Vec<AppendRequest>>,
    reply: oneshot::Sender<Result<BatchResult, Arc<DbError>>>,
}

impl Committer {
    /// Pushes committed through connections of `pool`.
    pub fn new(pool: Pool) -> Committer {
        Committer { pool, queues: Arc::default() }
    }

    /// Decides and commits `requests` (one push: a refusal skips the later appends of its
    /// stream) on `tenant`'s log, sharing a transaction with the pushes queued with it. `Err`
    /// means nothing of this push was written. The work goes on if the caller stops waiting.
    pub async fn push(&self, tenant: TenantId, requests: Arc<Vec<AppendRequest>>) -> Result<BatchResult, Arc<DbError>> {
        let queue = self.queues.lock().expect("queues lock").entry(tenant).or_default().clone();
        let (reply, answer) = oneshot::channel();
        let start = {
            let mut q = queue.lock().expect("queue lock");
            q.pending.push(Job { requests, reply });
            !std::mem::replace(&mut q.running, true)
        };
        if start {
            tokio::spawn(drain(self.pool.clone(), tenant, queue));
        }
        answer.await.unwrap_or_else(|_| Err(Arc::new(DbError::Closed)))
    }
}

/// Ends the draining task's turn: marks the queue idle, and when the task panicked, drops the
/// jobs it left (their callers get an error instead of waiting forever).
struct Turn(Arc<Mutex<Queue>>);

impl Drop for Turn {
    fn drop(&mut self) {
        if std::thread::panicking() {
            if let Ok(mut q) = self.0.lock() {
                q.running = false;
                q.pending.clear();
            }
        }
    }
}

/// Commits the queue's pushes, a group per transaction, until none is left.
async fn drain(pool: Pool, tenant: TenantId, queue: Arc<Mutex<Queue>>) {
    let _turn = Turn(queue.clone());
    loop {
        let jobs: Vec<Job> = {
            let mut q = queue.lock().expect("queue lock");
            if q.pending.is_empty() {
                q.running = false;
                return;
            }
            let mut events = 0;
            let take = q
                .pending
                .iter()
                .take_while(|job| {
                    events += job.requests.iter().map(|r| r.events.len()).sum::<usize>();
                    events <= GROUP_EVENTS
                })
                .count()
                .max(1);
            q.pending.drain(..take).collect()
        };
        let batches: Vec<&[AppendRequest]> = jobs.iter().map(|j| j.requests.as_slice()).collect();
        let result = async {
            let mut client = pool.get().await?;
            pg::append_batches(&mut client, tenant, &batches, Chaining::ByStream).await
        }
        .await;
        match result {
            Ok(results) => {
                for (job, result) in jobs.into_iter().zip(results) {
                    let _ = job.reply.send(Ok(result));
                }
            }
            Err(e) => {
                let e = Arc::new(e);
                for job in jobs {
                    let _ = job.reply.send(Err(e.clone()));
                }
            }
        }
    }
}
