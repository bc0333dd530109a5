//! A Rekindle server run as a child process, exactly as `server serve` runs in production, and
//! what `/proc` says about it (resident memory, peak memory, CPU time).

use anyhow::{bail, Context};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

/// The settings an instance starts with; the same map seeds accounts through the server's
/// own configuration code.
#[derive(Debug, Clone)]
pub struct Launch {
    pub server_bin: PathBuf,
    pub data_dir: PathBuf,
    /// `None`: the embedded SQLite file in `data_dir`.
    pub database_url: Option<String>,
    pub secret_key: String,
    /// The fake RunPod endpoint's URL.
    pub provider_url: String,
    pub provider_key: String,
    pub extra: Vec<(String, String)>,
}

impl Launch {
    /// The environment for an instance listening on `addr`.
    pub fn env(&self, addr: SocketAddr) -> Vec<(String, String)> {
        let mut env = vec![
            ("REKINDLE_ADDR".into(), addr.to_string()),
            (
                "REKINDLE_DATA_DIR".into(),
                self.data_dir.display().to_string(),
            ),
            ("REKINDLE_SECRET_KEY".into(), self.secret_key.clone()),
            ("REKINDLE_PROVIDER".into(), "runpod".into()),
            ("RUNPOD_ENDPOINT_URL".into(), self.provider_url.clone()),
            ("RUNPOD_API_KEY".into(), self.provider_key.clone()),
            ("RUST_LOG".into(), "warn".into()),
        ];
        if let Some(url) = &self.database_url {
            env.push(("DATABASE_URL".into(), url.clone()));
        }
        env.extend(self.extra.iter().cloned());
        env
    }

    pub fn with(mut self, name: &str, value: impl Into<String>) -> Launch {
        self.extra.push((name.into(), value.into()));
        self
    }
}

/// A running instance.
pub struct Instance {
    child: Child,
    pub addr: SocketAddr,
    pub base: String,
    pub env: Vec<(String, String)>,
}

/// Resident and peak memory of a process, in KiB.
#[derive(Debug, Clone, Copy)]
pub struct Memory {
    pub rss_kib: u64,
    pub peak_kib: u64,
}

impl Instance {
    /// Starts an instance on a free loopback port and waits until `/readyz` says ready.
    pub async fn start(launch: &Launch, log_name: &str) -> anyhow::Result<Instance> {
        std::fs::create_dir_all(&launch.data_dir)?;
        let addr = free_port()?;
        let env = launch.env(addr);
        let log = std::fs::File::create(launch.data_dir.join(format!("{log_name}.log")))?;
        let child = Command::new(&launch.server_bin)
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("Failed to start {}", launch.server_bin.display()))?;
        let mut instance = Instance {
            child,
            addr,
            base: format!("http://{addr}"),
            env,
        };
        instance
            .wait_ready(&launch.data_dir.join(format!("{log_name}.log")))
            .await?;

        Ok(instance)
    }

    async fn wait_ready(&mut self, log: &Path) -> anyhow::Result<()> {
        let http = reqwest::Client::new();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(60) {
            if let Some(status) = self.child.try_wait()? {
                let tail = std::fs::read_to_string(log).unwrap_or_default();
                bail!("the server exited with {status} while starting:\n{tail}");
            }
            let ready = http.get(format!("{}/readyz", self.base)).send().await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("the server at {} was not ready within 60 s", self.base)
    }

    pub fn pid(&self) -> u32 {
        self.child.id().unwrap_or(0)
    }

    pub fn memory(&self) -> anyhow::Result<Memory> {
        process_memory(self.pid())
    }

    /// User plus system CPU time the process has used so far.
    pub fn cpu(&self) -> anyhow::Result<Duration> {
        process_cpu(self.pid())
    }

    /// SIGTERM, then a bounded wait for the graceful shutdown.
    pub async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            // SAFETY: sending a signal to our own child process.
            unsafe { libc::kill(pid as i32, libc::SIGTERM) };
        }
        if tokio::time::timeout(Duration::from_secs(15), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}

/// A loopback address nobody listens on right now.
pub fn free_port() -> anyhow::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?)
}

pub fn process_memory(pid: u32) -> anyhow::Result<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("Failed to read /proc/{pid}/status"))?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse::<u64>().ok())
            .with_context(|| format!("no {name} in /proc/{pid}/status"))
    };

    Ok(Memory {
        rss_kib: field("VmRSS:")?,
        peak_kib: field("VmHWM:")?,
    })
}

pub fn process_cpu(pid: u32) -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name, which is in parentheses and may contain spaces.
    let after = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .context("unreadable /proc/<pid>/stat")?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
    // SAFETY: sysconf has no preconditions.
    let per_sec = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;

    Ok(Duration::from_secs_f64(ticks as f64 / per_sec))
}

/// Raises this process's open-file limit to the hard limit (children inherit it); returns it.
pub fn raise_file_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid pointer to a local struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 1024;
        }
        limit.rlim_cur = limit.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
    }
    limit.rlim_cur
}
