//! Extractors whose rejections use the API's error envelope instead of axum's plain text.

use crate::error::ApiError;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

/// `axum::Json` with a clear 400/415 on bad input.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Json(value)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::bad_request(
                "unsupported_media_type",
                "Send the request body as JSON with Content-Type: application/json.",
            )),
            Err(JsonRejection::JsonSyntaxError(_)) => Err(ApiError::bad_request(
                "invalid_json",
                "The request body is not valid JSON.",
            )),
            Err(JsonRejection::JsonDataError(err)) => Err(ApiError::bad_request(
                "invalid_request",
                format!(
                    "The request body has a missing or wrong field: {}",
                    err.body_text()
                ),
            )),
            Err(other) => Err(ApiError::bad_request("invalid_request", other.body_text())),
        }
    }
}

/// `axum::extract::Path` with a clear 400 on a malformed id.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Path(value))
            .map_err(|_: PathRejection| {
                ApiError::bad_request("invalid_id", "The address contains an invalid id.")
            })
    }
}

/// `axum::extract::Query` with a clear 400 on bad parameters.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Query(value))
            .map_err(|err: QueryRejection| {
                ApiError::bad_request(
                    "invalid_query",
                    format!("Invalid query parameters: {}", err.body_text()),
                )
            })
    }
}
