//! Turning `proto`'s amphora bodies into responses, in one place: webob bodies
//! (`{"message", "details"}`), Werkzeug errors (`{"error", "http_code"}`) for unknown
//! routes, wrong methods and oversized bodies, and the request size limit.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use octa_proto::amphora::{
    METHOD_NOT_ALLOWED_DESCRIPTION, Message, NOT_FOUND_DESCRIPTION, TOO_LARGE_DESCRIPTION,
    WerkzeugError,
};
use serde::Serialize;

/// The largest request body accepted. The stock agent has no limit; haproxy
/// configurations of hundreds of listeners stay far below this.
pub const MAX_BODY: usize = 16 * 1024 * 1024;

/// `body` as JSON with `code`.
pub fn json_response<T: Serialize>(code: StatusCode, body: &T) -> Response {
    (code, axum::Json(body)).into_response()
}

/// A webob body.
pub fn message(code: StatusCode, body: &Message) -> Response {
    json_response(code, body)
}

/// `{"message": "OK"}` with `code`.
pub fn ok(code: StatusCode) -> Response {
    message(code, &Message::ok())
}

/// `{"message": message, "details": details}` with `code`.
pub fn failure(code: StatusCode, message_text: &str, details: &str) -> Response {
    message(code, &Message::with_details(message_text, details))
}

/// Werkzeug's 404 for a URL no route matches (also what a path parameter that would
/// leave its directory gets: the stock router never matches it).
pub fn route_not_found() -> Response {
    json_response(
        StatusCode::NOT_FOUND,
        &WerkzeugError::new(404, "Not Found", NOT_FOUND_DESCRIPTION),
    )
}

/// The router's fallback for unknown URLs.
pub async fn not_found() -> Response {
    route_not_found()
}

/// The router's fallback for a known URL with a wrong method.
pub async fn method_not_allowed() -> Response {
    json_response(
        StatusCode::METHOD_NOT_ALLOWED,
        &WerkzeugError::new(405, "Method Not Allowed", METHOD_NOT_ALLOWED_DESCRIPTION),
    )
}

/// Rewrites axum's plain-text 413 (a body over [`MAX_BODY`]) into Werkzeug's JSON.
pub async fn json_413(response: Response) -> Response {
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE && !is_json {
        return json_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            &WerkzeugError::new(413, "Request Entity Too Large", TOO_LARGE_DESCRIPTION),
        );
    }
    response
}
