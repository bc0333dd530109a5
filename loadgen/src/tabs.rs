//! Opening many tabs at once, with bounded concurrency.

use crate::seed::Account;
use crate::socket::{self, Arrival, Socket};
use anyhow::Context;
use futures::StreamExt;
use std::net::SocketAddr;
use tokio::sync::mpsc;

/// Opens one tab per entry of `owners` (an index into `accounts`), tab numbers starting at
/// `first_tab`; every tab reports its job frames on `arrivals`.
pub async fn open_following(
    server: SocketAddr,
    accounts: &[Account],
    owners: &[usize],
    first_tab: usize,
    arrivals: &mpsc::UnboundedSender<Arrival>,
) -> anyhow::Result<()> {
    let sockets = open_many(server, accounts, owners, first_tab, 64).await?;
    for (i, socket) in sockets.into_iter().enumerate() {
        socket::follow(first_tab + i, socket, arrivals.clone());
    }
    Ok(())
}

/// Opens the tabs and returns them in order.
pub async fn open_many(
    server: SocketAddr,
    accounts: &[Account],
    owners: &[usize],
    first_tab: usize,
    concurrency: usize,
) -> anyhow::Result<Vec<Socket>> {
    let opened: Vec<(usize, anyhow::Result<Socket>)> =
        futures::stream::iter(owners.iter().enumerate())
            .map(|(i, owner)| {
                let token = accounts[*owner].token.clone();
                async move { (i, socket::open(server, first_tab + i, &token).await) }
            })
            .buffer_unordered(concurrency)
            .collect()
            .await;
    let mut sockets: Vec<Option<Socket>> = (0..owners.len()).map(|_| None).collect();
    for (i, socket) in opened {
        sockets[i] = Some(socket.with_context(|| format!("tab {} did not open", first_tab + i))?);
    }

    Ok(sockets
        .into_iter()
        .map(|s| s.expect("every tab opened"))
        .collect())
}
