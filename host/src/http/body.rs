//! Reading request bodies: the size limit, the content type, JSON syntax.
//! Each failure is a problem+json 4xx, never a 500.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, header};
use http_body_util::BodyExt;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::app::AppState;
use crate::error::{ApiError, FieldError};
use crate::forms::UrlEncoded;

/// Reads at most `limit` bytes; a longer body is a 413 whether or not it
/// announced its length.
pub async fn read_limited(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        drain(body, limit).await;
        return Err(ApiError::PayloadTooLarge { limit });
    }
    let mut body = body;
    let mut buffer = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| ApiError::MalformedBody(format!("the body could not be read: {e}")))?;
        if let Ok(data) = frame.into_data() {
            if buffer.len() + data.len() > limit {
                drain(body, limit).await;
                return Err(ApiError::PayloadTooLarge { limit });
            }
            buffer.extend_from_slice(&data);
        }
    }
    Ok(Bytes::from(buffer))
}

/// Reads and discards the rest of an oversized body, within bounds, so an
/// honest client that is still sending gets to read its 413 instead of a
/// reset connection. A body past the bounds is left; the connection closes.
async fn drain(mut body: Body, limit: usize) {
    let budget = (limit * 2).max(1 << 20);
    let discard = async {
        let mut seen = 0usize;
        while let Some(Ok(frame)) = body.frame().await {
            seen += frame.data_ref().map_or(0, |d| d.len());
            if seen > budget {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), discard).await;
}

fn media_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

fn is_json(media_type: &str) -> bool {
    media_type == "application/json" || media_type.ends_with("+json")
}

fn parse_json(bytes: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| ApiError::MalformedBody(format!("malformed JSON: {e}")))
}

/// A lead submission body: JSON, or form-urlencoded as a browser posts it.
pub enum SubmissionBody {
    Json(Value),
    Form(UrlEncoded),
}

impl SubmissionBody {
    pub async fn read(headers: &HeaderMap, body: Body, limit: usize) -> Result<Self, ApiError> {
        let media = media_type(headers);
        if !(is_json(&media) || media == "application/x-www-form-urlencoded") {
            return Err(ApiError::UnsupportedMediaType(format!(
                "{:?}; send application/json or application/x-www-form-urlencoded",
                if media.is_empty() { "none" } else { &media }
            )));
        }
        let bytes = read_limited(headers, body, limit).await?;
        if is_json(&media) {
            Ok(SubmissionBody::Json(parse_json(&bytes)?))
        } else {
            Ok(SubmissionBody::Form(UrlEncoded::parse(&bytes)))
        }
    }
}

/// A JSON request body of type `T`, whose every failure is problem+json:
/// wrong content type 415, too big 413, bad syntax 400, wrong shape 422 at
/// the pointer of the offending member.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (parts, body) = request.into_parts();
        let media = media_type(&parts.headers);
        if !is_json(&media) {
            return Err(ApiError::UnsupportedMediaType(format!(
                "{media:?}; send application/json"
            )));
        }
        let bytes = read_limited(&parts.headers, body, state.settings.body_limit).await?;
        let value = parse_json(&bytes)?;
        serde_path_to_error::deserialize(value)
            .map(JsonBody)
            .map_err(|e| ApiError::validation("the request body has the wrong shape", vec![FieldError::from_path(&e)]))
    }
}
