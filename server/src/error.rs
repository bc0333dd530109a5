//! The one error type at the HTTP boundary.
//!
//! Each variant maps to a status and a stable code; the message is a sentence for a person.
//! Internal failures are logged once, here, where they become a response, and the client only
//! learns that something went wrong.

use app::error::AppError;
use app::model::ErrorBody;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

/// `Result` with [`ApiError`] as the default error.
pub type Result<T, E = ApiError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400 with a code of its own.
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    #[error("Please log in to continue.")]
    Unauthenticated,
    /// 403: signed in, but this is not allowed (an expired photo, a bad signed URL).
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    /// 404: missing, or belonging to someone else (the two look the same on purpose).
    #[error("{0}")]
    NotFound(&'static str),
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("{message}")]
    PayloadTooLarge { code: &'static str, message: String },
    #[error("{message}")]
    Unprocessable { code: &'static str, message: String },
    #[error("Too many attempts. Please wait a minute and try again.")]
    RateLimited,
    /// The database or the object store cannot be reached right now.
    #[error("Rekindle is temporarily unavailable. Please try again in a moment.")]
    Unavailable(#[source] anyhow::Error),
    #[error("Something went wrong on our side. Please try again.")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            code,
            message: message.into(),
        }
    }

    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Forbidden {
            code,
            message: message.into(),
        }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Conflict {
            code,
            message: message.into(),
        }
    }

    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Unprocessable {
            code,
            message: message.into(),
        }
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable code clients can match on.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest { code, .. }
            | ApiError::Forbidden { code, .. }
            | ApiError::Conflict { code, .. }
            | ApiError::PayloadTooLarge { code, .. }
            | ApiError::Unprocessable { code, .. } => code,
            ApiError::Unauthenticated => "unauthenticated",
            ApiError::NotFound(_) => "not_found",
            ApiError::RateLimited => "rate_limited",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal_error",
        }
    }

    fn log(&self) {
        match self {
            ApiError::Internal(err) => tracing::error!(error = ?err, "request failed"),
            ApiError::Unavailable(err) => tracing::warn!(error = %err, "dependency unavailable"),
            _ => {}
        }
    }

    /// The body sent to the client.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            code: self.code().to_string(),
            message: self.to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.log();
        (self.status(), Json(self.body())).into_response()
    }
}

impl From<ApiError> for AppError {
    /// Used by server functions: the response gets the error's status, not a generic 500.
    fn from(err: ApiError) -> Self {
        err.log();
        if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(err.status());
        }
        let body = err.body();
        AppError::new(body.code, body.message)
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        match err {
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
                ApiError::Unavailable(err.into())
            }
            other => ApiError::Internal(other.into()),
        }
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(err: anyhow::Error) -> Self {
        match err.downcast::<sqlx::Error>() {
            Ok(db) => db.into(),
            Err(other) => ApiError::Internal(other),
        }
    }
}

impl From<restore::InputError> for ApiError {
    fn from(err: restore::InputError) -> Self {
        let code = err.code();
        let message = err.to_string();
        match code {
            "file_too_large" => ApiError::PayloadTooLarge { code, message },
            _ => ApiError::Unprocessable { code, message },
        }
    }
}
