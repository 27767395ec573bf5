//! Reading a request: path segments, query parameters, ids, JSON bodies.

use lambda_http::{Request, RequestExt};
use serde::de::DeserializeOwned;

use super::csrf::*;
use super::error::*;
use super::settings::*;

/// The path's segments, without an API Gateway stage prefix or cargo lambda's
/// `/lambda-url/<function>` prefix.
pub fn segments(request: &Request) -> Vec<String> {
    let path = request.raw_http_path();
    let path = if path.is_empty() {
        request.uri().path().to_owned()
    } else {
        path.to_owned()
    };
    let mut parts: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    if parts.first().map(String::as_str) == Some("lambda-url") && parts.len() >= 2 {
        parts.drain(..2);
    }
    let stage = request
        .request_context_ref()
        .and_then(|c| match c {
            lambda_http::request::RequestContext::ApiGatewayV1(ctx) => ctx.stage.clone(),
            lambda_http::request::RequestContext::ApiGatewayV2(ctx) => ctx.stage.clone(),
            _ => None,
        })
        .filter(|s| s != "$default");
    if let (Some(stage), Some(first)) = (stage, parts.first())
        && *first == stage
        && !matches!(first.as_str(), "auth" | "users" | "health")
    {
        parts.remove(0);
    }
    parts
}

/// One query-string parameter (the first, when repeated).
pub fn query_param(request: &Request, name: &str) -> Option<String> {
    request
        .query_string_parameters_ref()
        .and_then(|q| q.first(name))
        .map(str::to_owned)
}

/// A path id (user or session): letters, digits, `-` and `_`, 1 to 255 characters.
pub fn path_id(value: &str) -> Result<&str, ApiError> {
    let ok = !value.is_empty()
        && value.len() <= 255
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(value)
    } else {
        Err(ApiError::BadRequest {
            code: "INVALID_ID",
            message: "ids are 1 to 255 letters, digits, - or _".to_owned(),
        })
    }
}

/// Parses a JSON body: `application/json`, at most `MAX_BODY_BYTES`, valid UTF-8 and the exact
/// shape `T` (unknown fields refused by `T`'s `deny_unknown_fields`).
pub fn json_body<T: DeserializeOwned>(
    request: &Request,
    settings: &ApiSettings,
) -> Result<T, ApiError> {
    let bytes: &[u8] = request.body().as_ref();
    if bytes.len() > settings.max_body_bytes {
        return Err(ApiError::PayloadTooLarge(settings.max_body_bytes));
    }
    if !is_json_content_type(request) {
        return Err(ApiError::UnsupportedMediaType);
    }
    let text =
        std::str::from_utf8(bytes).map_err(|_| ApiError::invalid("The body is not valid UTF-8"))?;
    serde_json::from_str(text).map_err(|e| ApiError::invalid(format!("Invalid body: {e}")))
}
