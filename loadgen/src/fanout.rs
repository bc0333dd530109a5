//! Fan-out across instances: the same webhooks reach tabs connected to the instance that
//! received them and tabs connected to another instance (through PostgreSQL NOTIFY); the
//! difference is what crossing instances adds.

use crate::latency::fire;
use crate::report::{Section, Verdict};
use crate::rig::Rig;
use crate::stats::Samples;
use crate::{tabs, Ctx};
use app::model::JobStatus;
use serde_json::json;
use std::time::Duration;
use tokio::sync::mpsc;

pub async fn run(ctx: &Ctx, rig: &mut Rig) -> anyhow::Result<Section> {
    let scale = &ctx.scale;
    let mut section = Section::new(
        "fanout",
        "Fan-out across instances (PostgreSQL)",
        "added latency ≤ 2 ms p50, ≤ 10 ms p99",
    );
    let other = rig.another_instance("fanout-b").await?;
    let users = scale.fanout_users;
    let accounts = rig.accounts(users * 2).await?;
    let (arrivals_tx, mut arrivals) = mpsc::unbounded_channel();
    let local: Vec<usize> = (0..users).collect();
    let remote: Vec<usize> = (users..users * 2).collect();
    tabs::open_following(rig.instance.addr, &accounts, &local, 0, &arrivals_tx).await?;
    tabs::open_following(other.addr, &accounts, &remote, users, &arrivals_tx).await?;
    let jobs = rig.create_jobs(&accounts).await?;
    crate::latency::drain(&mut arrivals);

    let fired = fire(rig, &jobs, scale.fanout_rate, scale.fanout_secs).await;
    let (mut same, mut cross) = (Samples::default(), Samples::default());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while same.len() + cross.len() < fired.accepted {
        let Ok(Some(arrival)) = tokio::time::timeout_at(deadline, arrivals.recv()).await else {
            break;
        };
        if arrival.status != JobStatus::Running {
            continue;
        }
        if let Some(at) = fired.sent.get(&(arrival.job_id, arrival.progress)) {
            let latency = arrival.at.saturating_duration_since(*at);
            if arrival.tab < users {
                same.push(latency)
            } else {
                cross.push(latency)
            }
        }
    }
    other.stop().await;

    let (Some(s), Some(c)) = (same.summary(), cross.summary()) else {
        anyhow::bail!(
            "no frames arrived ({} same-instance, {} cross-instance)",
            same.len(),
            cross.len()
        );
    };
    let added_p50 = c.p50_ms - s.p50_ms;
    let added_p99 = c.p99_ms - s.p99_ms;
    section.row(
        "tabs",
        format!("{users} on the instance receiving the webhooks, {users} on another"),
    );
    section.row(
        "webhooks",
        format!("{} at {}/s", fired.accepted, scale.fanout_rate),
    );
    section.row("same instance", s.describe());
    section.row("other instance", c.describe());
    section.row(
        "added by crossing instances",
        format!("p50 {added_p50:+.2} ms, p99 {added_p99:+.2} ms"),
    );
    let complete = same.len() + cross.len() == fired.accepted;
    section.verdict = Verdict::from_check(complete && added_p50 <= 2.0 && added_p99 <= 10.0);
    section.data =
        json!({ "same": s, "cross": c, "added_p50_ms": added_p50, "added_p99_ms": added_p99 });

    Ok(section)
}
