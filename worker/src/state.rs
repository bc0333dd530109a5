//! State shared by the routes and the running jobs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Semaphore;
use uuid::Uuid;

use crate::jobs::Job;
use crate::outputs::OutputStore;
use crate::WorkerConfig;

/// Everything the worker knows: its settings, its jobs and their result files.
#[derive(Debug)]
pub(crate) struct AppState {
    pub config: WorkerConfig,
    jobs: Mutex<HashMap<Uuid, Job>>,
    /// One permit per job that may run at the same time.
    pub slots: Semaphore,
    pub outputs: OutputStore,
}

impl AppState {
    pub fn new(mut config: WorkerConfig) -> Arc<Self> {
        config.max_concurrent_jobs = config.max_concurrent_jobs.max(1);
        Arc::new(Self {
            slots: Semaphore::new(config.max_concurrent_jobs),
            config,
            jobs: Mutex::new(HashMap::new()),
            outputs: OutputStore::default(),
        })
    }

    /// The job table. Critical sections are short and never await.
    pub fn jobs(&self) -> MutexGuard<'_, HashMap<Uuid, Job>> {
        // A panic while holding the lock cannot leave a job half-written in a way that
        // matters more than losing the whole worker, so keep serving.
        self.jobs
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `f` on a job, if it exists.
    pub fn with_job<T>(&self, id: Uuid, f: impl FnOnce(&mut Job) -> T) -> Option<T> {
        self.jobs().get_mut(&id).map(f)
    }
}
