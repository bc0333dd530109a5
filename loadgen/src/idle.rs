//! Idle connections: how much memory an authenticated WebSocket that is doing nothing costs
//! the server, and how much CPU the idle crowd burns. One process may hold only as many
//! sockets as its open-file limit allows, so the crowd is spread over several stateless
//! instances sharing one PostgreSQL database (as production scales), and the client side over
//! several load-generator processes.

use crate::instance::Instance;
use crate::report::{Section, Verdict};
use crate::rig::{Rig, Store};
use crate::seed::Account;
use crate::{tabs, Ctx};
use anyhow::{bail, Context};
use serde_json::json;
use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const TARGET_KIB: f64 = 10.0;

pub async fn run(ctx: &Ctx, rig: &Rig) -> anyhow::Result<Section> {
    let scale = &ctx.scale;
    let total = scale.idle_connections;
    let mut section = Section::new(
        "idle",
        "Idle WebSockets",
        &format!("≤ {TARGET_KIB} KiB of server memory per idle authenticated socket at {total} sockets, CPU near idle"),
    );
    let per_instance = per_instance_limit(ctx.file_limit);
    let count = total.div_ceil(per_instance).max(1);
    if count > 1 && rig.store != Store::Postgres {
        bail!("{total} sockets need {count} instances, which need PostgreSQL");
    }
    let mut instances = vec![];
    for n in 1..count {
        instances.push(rig.another_instance(&format!("idle-{n}")).await?);
    }
    let all: Vec<&Instance> = std::iter::once(&rig.instance)
        .chain(instances.iter())
        .collect();
    let accounts = rig.accounts(total.min(10_000)).await?;
    let tokens = ctx.out.join("work").join("idle-tokens.txt");
    write_tokens(&tokens, &accounts)?;

    // Warm every instance up (first connections allocate lazily), then take the baseline.
    for instance in &all {
        let owners: Vec<usize> = (0..50.min(accounts.len())).collect();
        drop(tabs::open_many(instance.addr, &accounts, &owners, 0, 16).await?);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before: Vec<u64> = all
        .iter()
        .map(|i| i.memory().map(|m| m.rss_kib))
        .collect::<Result<_, _>>()?;

    let opened = Instant::now();
    let mut holders = Vec::new();
    let mut remaining = total;
    for (n, instance) in all.iter().enumerate() {
        let share = remaining.div_ceil(all.len() - n);
        remaining -= share;
        holders.push(Holder::spawn(instance, &tokens, share, n * per_instance).await?);
    }
    let mut held = 0;
    for holder in &mut holders {
        held += holder.wait_open().await?;
    }
    let open_secs = opened.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(3)).await;

    let after: Vec<u64> = all
        .iter()
        .map(|i| i.memory().map(|m| m.rss_kib))
        .collect::<Result<_, _>>()?;
    let cpu_before: Vec<Duration> = all.iter().map(|i| i.cpu()).collect::<Result<_, _>>()?;
    let window = Duration::from_secs_f64(scale.idle_window_secs);
    tokio::time::sleep(window).await;
    let cpu_after: Vec<Duration> = all.iter().map(|i| i.cpu()).collect::<Result<_, _>>()?;
    let still_open = holders.iter_mut().map(Holder::still_open).sum::<usize>();
    let instance_count = all.len();
    drop(all);
    for holder in holders {
        holder.stop().await;
    }
    for instance in instances {
        instance.stop().await;
    }

    let grown_kib: i64 = after
        .iter()
        .zip(&before)
        .map(|(a, b)| *a as i64 - *b as i64)
        .sum();
    let per_socket = grown_kib as f64 / held as f64;
    let cpu: f64 = cpu_after
        .iter()
        .zip(&cpu_before)
        .map(|(a, b)| a.saturating_sub(*b).as_secs_f64())
        .sum();
    let cpu_share = cpu / window.as_secs_f64();
    section.row(
        "sockets held",
        format!(
            "{held} over {instance_count} instance(s), {} users (opened in {open_secs:.1} s)",
            accounts.len()
        ),
    );
    section.row(
        "server memory growth",
        format!("{:.1} MiB in all", grown_kib as f64 / 1024.0),
    );
    section.row("memory per idle socket", format!("{per_socket:.2} KiB"));
    section.row(
        "server CPU while idle",
        format!(
            "{:.1}% of one core over {:.0} s (heartbeats and pings every 20 s)",
            cpu_share * 100.0,
            window.as_secs_f64()
        ),
    );
    section.row("sockets still open at the end", still_open.to_string());
    section.verdict =
        Verdict::from_check(held == total && per_socket <= TARGET_KIB && cpu_share < 0.25);
    section.note(format!(
        "Open-file limit here: {} (hard limit; raising it is refused without CAP_SYS_RESOURCE), so one process holds at most {per_instance} sockets: {total} sockets take {} server instance(s) (several share PostgreSQL, as production scales out) and as many load-generator processes, on source addresses 127.0.0.1 upwards.",
        ctx.file_limit, instance_count
    ));
    section.data = json!({
        "sockets": held, "instances": instance_count, "users": accounts.len(),
        "rss_before_kib": before, "rss_after_kib": after, "kib_per_socket": per_socket,
        "idle_cpu_cores": cpu_share, "window_secs": window.as_secs_f64(),
    });

    Ok(section)
}

/// Sockets one process can hold, leaving room for its other files.
fn per_instance_limit(file_limit: u64) -> usize {
    (file_limit.saturating_sub(2_000) as usize).clamp(1_000, 60_000)
}

fn write_tokens(path: &std::path::Path, accounts: &[Account]) -> anyhow::Result<()> {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    for account in accounts {
        writeln!(file, "{}", account.token)?;
    }
    Ok(())
}

/// A load-generator process holding sockets open (`loadgen hold-sockets`).
struct Holder {
    child: Child,
    lines: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    count: usize,
}

impl Holder {
    async fn spawn(
        instance: &Instance,
        tokens: &std::path::Path,
        count: usize,
        first_tab: usize,
    ) -> anyhow::Result<Holder> {
        let mut child = Command::new(std::env::current_exe()?)
            .args([
                "hold-sockets",
                &instance.addr.to_string(),
                &tokens.display().to_string(),
            ])
            .args([count.to_string(), first_tab.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("Failed to start a socket-holding process")?;
        let stdout = child.stdout.take().context("no stdout")?;
        Ok(Holder {
            child,
            lines: BufReader::new(stdout).lines(),
            count,
        })
    }

    async fn wait_open(&mut self) -> anyhow::Result<usize> {
        let line = tokio::time::timeout(Duration::from_secs(600), self.lines.next_line())
            .await
            .context("sockets not open within 10 minutes")??
            .context("the socket-holding process ended")?;
        match line.strip_prefix("open ") {
            Some(n) if n.parse() == Ok(self.count) => Ok(self.count),
            _ => bail!("socket-holding process: {line}"),
        }
    }

    fn still_open(&mut self) -> usize {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.count
        } else {
            0
        }
    }

    async fn stop(mut self) {
        drop(self.child.stdin.take());
        let _ = tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await;
    }
}

/// `loadgen hold-sockets ADDR TOKENS COUNT FIRST_TAB`: opens COUNT sockets to ADDR using the
/// tokens round-robin, prints `open COUNT`, and holds them (answering pings) until stdin
/// closes; then prints how many were still open.
pub async fn hold_sockets(args: &[String]) -> anyhow::Result<()> {
    let [addr, tokens, count, first_tab] = args else {
        bail!("usage: loadgen hold-sockets ADDR TOKENS COUNT FIRST_TAB");
    };
    let addr = addr.parse()?;
    let tokens: Vec<Account> = std::fs::read_to_string(tokens)?
        .lines()
        .map(|t| Account {
            token: t.to_string(),
        })
        .collect();
    let count: usize = count.parse()?;
    let first_tab: usize = first_tab.parse()?;
    let owners: Vec<usize> = (0..count).map(|i| (first_tab + i) % tokens.len()).collect();
    let sockets = match tabs::open_many(addr, &tokens, &owners, first_tab, 64).await {
        Ok(sockets) => sockets,
        Err(err) => {
            println!("failed {err:#}");
            return Ok(());
        }
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    for socket in sockets {
        crate::socket::hold(socket, stopped.clone());
    }
    println!("open {count}");
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    while let Ok(Some(_)) = stdin.next_line().await {}
    let _ = stop.send(true);
    tokio::time::sleep(Duration::from_millis(200)).await;

    Ok(())
}
