//! Browser tabs: authenticated WebSockets to `/ws/jobs`, opened from several loopback source
//! addresses so that many thousands fit in the ephemeral port range.

use anyhow::Context;
use app::model::{JobStatus, StreamFrame};
use futures::StreamExt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Instant;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;
use uuid::Uuid;

pub type Socket = WebSocketStream<TcpStream>;

/// A job frame as a tab received it.
#[derive(Debug, Clone)]
pub struct Arrival {
    pub tab: usize,
    pub job_id: Uuid,
    pub status: JobStatus,
    pub progress: u8,
    pub provider_calls: i64,
    pub webhooks_received: i64,
    pub at: Instant,
}

/// The `n`th source address: 127.0.0.1, 127.0.0.2, … (one per 20,000 sockets is plenty).
pub fn source_address(n: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1 + (n / 20_000) as u8))
}

/// Opens tab number `n` for the user whose token is `token`.
pub async fn open(server: SocketAddr, n: usize, token: &str) -> anyhow::Result<Socket> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(source_address(n), 0))?;
    let stream = socket
        .connect(server)
        .await
        .with_context(|| format!("Failed to connect to {server}"))?;
    stream.set_nodelay(true)?;
    let mut request = format!("ws://{server}/ws/jobs").into_client_request()?;
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse()?);
    // Small buffers: the client side of a hundred thousand sockets shares this machine.
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    let (socket, _) = tokio_tungstenite::client_async_with_config(request, stream, Some(config))
        .await
        .context("WebSocket handshake failed")?;

    Ok(socket)
}

/// Reads a tab's frames until the socket closes, reporting each job frame on `arrivals`.
/// Reading also answers the server's pings.
pub fn follow(tab: usize, mut socket: Socket, arrivals: mpsc::UnboundedSender<Arrival>) {
    tokio::spawn(async move {
        while let Some(Ok(message)) = socket.next().await {
            let Message::Text(text) = message else {
                continue;
            };
            let at = Instant::now();
            if let Ok(StreamFrame::Job { job, .. }) = serde_json::from_str(text.as_str()) {
                let arrival = Arrival {
                    tab,
                    job_id: job.id,
                    status: job.status,
                    progress: job.progress,
                    provider_calls: job.provider_calls,
                    webhooks_received: job.webhooks_received,
                    at,
                };
                if arrivals.send(arrival).is_err() {
                    break;
                }
            }
        }
    });
}

/// Holds a socket open, answering pings, and counts what it read; ends when `stop` fires.
pub fn hold(mut socket: Socket, mut stop: tokio::sync::watch::Receiver<bool>) {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                message = socket.next() => if !matches!(message, Some(Ok(_))) { break },
                _ = stop.changed() => break,
            }
        }
    });
}
