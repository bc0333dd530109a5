//! The shared state every handler reaches: configuration, database, storage, hub, provider.

use crate::clock::Clock;
use crate::config::Config;
use crate::db::Db;
use crate::providers::Provider;
use crate::realtime::Realtime;
use crate::storage::Storage;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use std::ops::Deref;
use std::sync::Arc;

pub use crate::auth::Keys;

/// Everything a request may need; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub config: Config,
    /// The URL this server is reached at, without a trailing slash.
    pub public_url: String,
    pub db: Db,
    pub storage: Storage,
    pub clock: Clock,
    pub keys: Keys,
    pub realtime: Realtime,
    pub provider: Provider,
    pub leptos: LeptosOptions,
}

impl AppState {
    pub fn new(inner: Inner) -> AppState {
        AppState(Arc::new(inner))
    }

    /// Limits for any image this server reads, uploads and provider results alike.
    pub fn image_limits(&self) -> restore::Limits {
        restore::Limits {
            max_bytes: self.config.max_upload_bytes,
            max_pixels: self.config.max_pixels,
            ..restore::Limits::default()
        }
    }
}

impl Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> LeptosOptions {
        state.leptos.clone()
    }
}
