//! How big each measurement is: the full figures, or a tiny run that only proves
//! the tool still works (CI).

#[derive(Debug, Clone)]
pub struct Scale {
    pub name: &'static str,
    pub latency_sockets: usize,
    pub latency_jobs: usize,
    pub webhook_rate: u32,
    pub latency_secs: f64,
    pub polling_jobs: usize,
    pub polling_tabs: usize,
    pub job_secs: f64,
    pub idle_connections: usize,
    pub idle_window_secs: f64,
    pub ingest_jobs: usize,
    pub ingest_concurrency: usize,
    pub ingest_secs: f64,
    pub fanout_users: usize,
    pub fanout_rate: u32,
    pub fanout_secs: f64,
    pub gatekeeper_secs: f64,
    pub gatekeeper_concurrency: usize,
    pub upload_bytes: u64,
    pub pipeline_photos: usize,
}

impl Scale {
    pub fn full() -> Scale {
        Scale {
            name: "full",
            latency_sockets: 10_000,
            latency_jobs: 2_000,
            webhook_rate: 1_000,
            latency_secs: 20.0,
            polling_jobs: 100,
            polling_tabs: 2,
            job_secs: 30.0,
            idle_connections: 100_000,
            idle_window_secs: 25.0,
            ingest_jobs: 500,
            ingest_concurrency: 32,
            ingest_secs: 10.0,
            fanout_users: 500,
            fanout_rate: 200,
            fanout_secs: 10.0,
            gatekeeper_secs: 5.0,
            gatekeeper_concurrency: 32,
            upload_bytes: 100_000_000,
            pipeline_photos: 100,
        }
    }

    pub fn tiny() -> Scale {
        Scale {
            name: "tiny",
            latency_sockets: 50,
            latency_jobs: 10,
            webhook_rate: 100,
            latency_secs: 1.0,
            polling_jobs: 3,
            polling_tabs: 2,
            job_secs: 6.0,
            idle_connections: 200,
            idle_window_secs: 2.0,
            ingest_jobs: 10,
            ingest_concurrency: 4,
            ingest_secs: 1.0,
            fanout_users: 10,
            fanout_rate: 50,
            fanout_secs: 1.0,
            gatekeeper_secs: 1.0,
            gatekeeper_concurrency: 4,
            upload_bytes: 4_000_000,
            pipeline_photos: 1,
        }
    }
}
