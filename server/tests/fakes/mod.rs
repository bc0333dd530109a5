//! HTTP-level test doubles of the GPU providers, written from their public API documentation
//! (`reference/providers.md`): each is an axum server on 127.0.0.1:0 that the server under
//! test calls like the real service, while the test decides which webhooks and events are
//! sent, dropped, duplicated, delayed or reordered.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of the fakes"
)]

pub mod comfyui;
pub mod replicate;
pub mod runpod;

use std::net::SocketAddr;

/// Serves `router` on a fresh loopback port; returns its base URL.
pub async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let addr: SocketAddr = listener.local_addr().expect("bound address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{addr}")
}

/// Downloads a photo the server handed a provider (its signed source URL).
pub async fn download(url: &str) -> Vec<u8> {
    reqwest::get(url)
        .await
        .expect("the source URL answers")
        .bytes()
        .await
        .expect("the source URL has a body")
        .to_vec()
}
