//! The server side of the UI's server functions: each call authenticates and reuses the same
//! code the JSON API uses.

use crate::auth::{self, CurrentUser};
use crate::error::ApiError;
use crate::state::AppState;
use app::api::Backend;
use app::error::AppError;
use app::model::{JobView, PhotoAccess, PhotoVariant, PhotoView, RestoreOptions, UserView};
use http::HeaderMap;
use uuid::Uuid;

/// [`Backend`] over the server's state.
pub struct ServerBackend(pub AppState);

impl ServerBackend {
    async fn user(&self, headers: &HeaderMap) -> Result<CurrentUser, AppError> {
        auth::authenticate(&self.0, headers)
            .await?
            .ok_or_else(AppError::unauthenticated)
    }
}

#[async_trait::async_trait]
impl Backend for ServerBackend {
    async fn current_user(&self, headers: &HeaderMap) -> Result<Option<UserView>, AppError> {
        let user = auth::authenticate(&self.0, headers).await?;
        Ok(user.map(|u| u.user.into_view(&self.0.config)))
    }

    async fn register(
        &self,
        _headers: &HeaderMap,
        email: &str,
        password: &str,
    ) -> Result<String, AppError> {
        let user = auth::register(&self.0, email, password).await?;
        Ok(auth::start_session(&self.0, user.id).await?.cookie)
    }

    async fn login(
        &self,
        headers: &HeaderMap,
        email: &str,
        password: &str,
    ) -> Result<String, AppError> {
        let user = auth::check_password(&self.0, headers, email, password).await?;
        Ok(auth::start_session(&self.0, user.id).await?.cookie)
    }

    async fn logout(&self, headers: &HeaderMap) -> Result<String, AppError> {
        let session = auth::authenticate(&self.0, headers)
            .await?
            .map(|u| u.session_id);
        Ok(auth::end_session(&self.0, session).await?)
    }

    async fn list_photos(&self, headers: &HeaderMap) -> Result<Vec<PhotoView>, AppError> {
        let user = self.user(headers).await?;
        Ok(crate::photos::views_for(&self.0, &user).await?)
    }

    async fn get_photo(&self, headers: &HeaderMap, id: Uuid) -> Result<PhotoView, AppError> {
        let user = self.user(headers).await?;
        Ok(crate::photos::view_of(&self.0, &user, id).await?)
    }

    async fn get_photo_access(
        &self,
        headers: &HeaderMap,
        id: Uuid,
        variant: PhotoVariant,
    ) -> Result<PhotoAccess, AppError> {
        let user = self.user(headers).await?;
        Ok(crate::gatekeeper::issue_access(&self.0, &user, id, variant).await?)
    }

    async fn create_restore_job(
        &self,
        headers: &HeaderMap,
        photo_id: Uuid,
        options: RestoreOptions,
    ) -> Result<JobView, AppError> {
        let user = self.user(headers).await?;
        Ok(crate::jobs::service::create_restore_job(&self.0, &user, photo_id, options).await?)
    }

    async fn cancel_job(&self, headers: &HeaderMap, job_id: Uuid) -> Result<JobView, AppError> {
        let user = self.user(headers).await?;
        Ok(crate::jobs::service::cancel_job(&self.0, &user, job_id).await?)
    }

    async fn delete_photo(&self, headers: &HeaderMap, id: Uuid) -> Result<(), AppError> {
        let user = self.user(headers).await?;
        let photo = crate::photos::find(&self.0.db, id)
            .await
            .map_err(ApiError::from)?
            .filter(|photo| photo.user_id == user.user.id)
            .ok_or(ApiError::NotFound("There is no such photo."))?;
        crate::photos::delete_with_results(&self.0, &photo)
            .await
            .map_err(ApiError::from)?;
        Ok(())
    }

    async fn delete_account(&self, headers: &HeaderMap) -> Result<String, AppError> {
        let user = self.user(headers).await?;
        crate::accounts::delete_account(&self.0, &user)
            .await
            .map_err(ApiError::from)?;
        Ok(auth::end_session(&self.0, None).await?)
    }
}
