//! Server functions: typed calls the browser and the server share.
//!
//! On the server each one asks the [`Backend`] that the server crate provides through context,
//! so this crate never touches the database itself.

use crate::error::AppError;
use crate::model::{JobView, PhotoAccess, PhotoVariant, PhotoView, RestoreOptions, UserView};
use leptos::prelude::*;
use uuid::Uuid;

#[cfg(feature = "ssr")]
pub use backend::{Backend, SharedBackend};

#[cfg(feature = "ssr")]
mod backend {
    use super::*;
    use std::sync::Arc;

    /// What the server functions need from the server. The server crate implements it.
    #[async_trait::async_trait]
    pub trait Backend: Send + Sync + 'static {
        /// The signed-in user for these request headers, if any.
        async fn current_user(
            &self,
            headers: &http::HeaderMap,
        ) -> Result<Option<UserView>, AppError>;
        /// Creates an account; returns the `Set-Cookie` value of its new session.
        async fn register(
            &self,
            headers: &http::HeaderMap,
            email: &str,
            password: &str,
        ) -> Result<String, AppError>;
        /// Checks a password; returns the `Set-Cookie` value of a new session.
        async fn login(
            &self,
            headers: &http::HeaderMap,
            email: &str,
            password: &str,
        ) -> Result<String, AppError>;
        /// Ends the session; returns the `Set-Cookie` value that clears the cookie.
        async fn logout(&self, headers: &http::HeaderMap) -> Result<String, AppError>;
        async fn list_photos(&self, headers: &http::HeaderMap) -> Result<Vec<PhotoView>, AppError>;
        async fn get_photo(
            &self,
            headers: &http::HeaderMap,
            id: Uuid,
        ) -> Result<PhotoView, AppError>;
        async fn get_photo_access(
            &self,
            headers: &http::HeaderMap,
            id: Uuid,
            variant: PhotoVariant,
        ) -> Result<PhotoAccess, AppError>;
        async fn create_restore_job(
            &self,
            headers: &http::HeaderMap,
            photo_id: Uuid,
            options: RestoreOptions,
        ) -> Result<JobView, AppError>;
        async fn cancel_job(
            &self,
            headers: &http::HeaderMap,
            job_id: Uuid,
        ) -> Result<JobView, AppError>;
        async fn delete_photo(&self, headers: &http::HeaderMap, id: Uuid) -> Result<(), AppError>;
        /// Deletes the account and everything in it; returns the `Set-Cookie` that clears it.
        async fn delete_account(&self, headers: &http::HeaderMap) -> Result<String, AppError>;
    }

    /// How the backend travels through Leptos context.
    pub type SharedBackend = Arc<dyn Backend>;
}

#[cfg(feature = "ssr")]
async fn backend_and_headers() -> Result<(SharedBackend, http::HeaderMap), AppError> {
    let Some(backend) = use_context::<SharedBackend>() else {
        return Err(AppError::new(
            "internal_error",
            "Something went wrong on our side. Please try again.",
        ));
    };
    let headers = leptos_axum::extract::<http::HeaderMap>()
        .await
        .map_err(AppError::from_server_fn_error_err)?;

    Ok((backend, headers))
}

#[cfg(feature = "ssr")]
impl AppError {
    fn from_server_fn_error_err(err: server_fn::error::ServerFnErrorErr) -> Self {
        <AppError as server_fn::error::FromServerFnError>::from_server_fn_error(err)
    }
}

#[cfg(feature = "ssr")]
fn set_cookie(value: &str) {
    if let Ok(value) = http::HeaderValue::from_str(value) {
        expect_context::<leptos_axum::ResponseOptions>()
            .append_header(http::header::SET_COOKIE, value);
    }
}

/// The signed-in user, or `None`.
#[server]
pub async fn get_me() -> Result<Option<UserView>, AppError> {
    let (backend, headers) = backend_and_headers().await?;
    backend.current_user(&headers).await
}

/// Creates an account on the Free tier and signs it in.
#[server]
pub async fn register(email: String, password: String) -> Result<(), AppError> {
    let (backend, headers) = backend_and_headers().await?;
    let cookie = backend.register(&headers, &email, &password).await?;
    set_cookie(&cookie);
    leptos_axum::redirect("/photos");

    Ok(())
}

/// Signs in with e-mail and password.
#[server]
pub async fn login(email: String, password: String) -> Result<(), AppError> {
    let (backend, headers) = backend_and_headers().await?;
    let cookie = backend.login(&headers, &email, &password).await?;
    set_cookie(&cookie);
    leptos_axum::redirect("/photos");

    Ok(())
}

/// Signs out and ends the session on the server.
#[server]
pub async fn logout() -> Result<(), AppError> {
    let (backend, headers) = backend_and_headers().await?;
    let cookie = backend.logout(&headers).await?;
    set_cookie(&cookie);
    leptos_axum::redirect("/login");

    Ok(())
}

/// The user's photos, newest first, each with its latest job.
#[server]
pub async fn list_photos() -> Result<Vec<PhotoView>, AppError> {
    let (backend, headers) = backend_and_headers().await?;
    backend.list_photos(&headers).await
}

/// One of the user's photos.
#[server]
pub async fn get_photo(id: Uuid) -> Result<PhotoView, AppError> {
    let (backend, headers) = backend_and_headers().await?;
    backend.get_photo(&headers, id).await
}

/// Asks the gatekeeper for a short-lived URL to one rendition of a photo.
#[server]
pub async fn get_photo_access(id: Uuid, variant: PhotoVariant) -> Result<PhotoAccess, AppError> {
    let (backend, headers) = backend_and_headers().await?;
    backend.get_photo_access(&headers, id, variant).await
}

/// Starts restoring a photo; returns the queued job at once.
#[server]
pub async fn create_restore_job(
    photo_id: Uuid,
    options: RestoreOptions,
) -> Result<JobView, AppError> {
    let (backend, headers) = backend_and_headers().await?;
    backend
        .create_restore_job(&headers, photo_id, options)
        .await
}

/// Cancels a job that has not finished.
#[server]
pub async fn cancel_job(job_id: Uuid) -> Result<JobView, AppError> {
    let (backend, headers) = backend_and_headers().await?;
    backend.cancel_job(&headers, job_id).await
}

/// Deletes a photo, its restorations and their bytes.
#[server]
pub async fn delete_photo(id: Uuid) -> Result<(), AppError> {
    let (backend, headers) = backend_and_headers().await?;
    backend.delete_photo(&headers, id).await
}

/// Deletes the signed-in account with every photo, then signs out.
#[server]
pub async fn delete_account() -> Result<(), AppError> {
    let (backend, headers) = backend_and_headers().await?;
    let cookie = backend.delete_account(&headers).await?;
    set_cookie(&cookie);
    leptos_axum::redirect("/");

    Ok(())
}
