//! The bodies the fake answers with, spelled as Meta spells them: the send and mark-read
//! success bodies and the Graph error object `{"error": {"message", "type", "code",
//! "error_subcode"?, "error_data"?: {"messaging_product", "details"}, "fbtrace_id"}}`.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{json, Value};

/// A Graph API answer: status and body.
pub(super) struct Answer {
    pub http_status: u16,
    pub body: AnswerBody,
}

pub(super) enum AnswerBody {
    Json(Value),
    Raw(String),
}

impl Answer {
    pub fn json(http_status: u16, body: Value) -> Self {
        Self { http_status, body: AnswerBody::Json(body) }
    }

    pub fn raw(http_status: u16, body: String) -> Self {
        Self { http_status, body: AnswerBody::Raw(body) }
    }

    /// Meta's error object. WhatsApp errors carry `(#code) title` as the message and the
    /// title again as `error_data.details`; token errors (190) carry the bare message.
    pub fn meta_error(http_status: u16, code: i64, title: &str, trace: &str) -> Self {
        let mut error = json!({ "type": "OAuthException", "code": code, "fbtrace_id": trace });
        if code == 190 {
            error["message"] = json!(title);
        } else {
            error["message"] = json!(format!("(#{code}) {title}"));
            error["error_data"] = json!({ "messaging_product": "whatsapp", "details": title });
        }
        Self::json(http_status, json!({ "error": error }))
    }

    /// `(#100) The parameter <name> is required.`
    pub fn missing_parameter(name: &str, trace: &str) -> Self {
        Self::json(
            400,
            json!({ "error": {
                "message": format!("(#100) The parameter {name} is required."),
                "type": "OAuthException",
                "code": 100,
                "fbtrace_id": trace,
            }}),
        )
    }

    /// `(#100) Invalid parameter` with details.
    pub fn invalid_parameter(details: &str, trace: &str) -> Self {
        Self::json(
            400,
            json!({ "error": {
                "message": "(#100) Invalid parameter",
                "type": "OAuthException",
                "code": 100,
                "error_data": { "messaging_product": "whatsapp", "details": details },
                "fbtrace_id": trace,
            }}),
        )
    }

    /// A request without an access token.
    pub fn no_token(trace: &str) -> Self {
        Self::json(
            401,
            json!({ "error": {
                "message": "An access token is required to request this resource.",
                "type": "OAuthException",
                "code": 104,
                "fbtrace_id": trace,
            }}),
        )
    }

    /// A token that is not the one for this number.
    pub fn bad_token(trace: &str) -> Self {
        Self::meta_error(401, 190, "Invalid OAuth access token - Cannot parse access token", trace)
    }

    /// A phone-number id this fake does not serve (Graph's "object does not exist").
    pub fn unknown_object(id: &str, trace: &str) -> Self {
        Self::json(
            400,
            json!({ "error": {
                "message": format!("Unsupported post request. Object with ID '{id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api"),
                "type": "GraphMethodException",
                "code": 100,
                "error_subcode": 33,
                "fbtrace_id": trace,
            }}),
        )
    }

    /// A path that is not an edge the fake serves.
    pub fn unknown_path(path: &str, trace: &str) -> Self {
        Self::json(
            400,
            json!({ "error": {
                "message": format!("Unknown path components: {path}"),
                "type": "OAuthException",
                "code": 2500,
                "fbtrace_id": trace,
            }}),
        )
    }

    /// An accepted send.
    pub fn sent(to: &str, wamid: &str, template: bool) -> Self {
        let mut message = json!({ "id": wamid });
        if template {
            message["message_status"] = json!("accepted");
        }
        Self::json(
            200,
            json!({
                "messaging_product": "whatsapp",
                "contacts": [{ "input": to, "wa_id": wa_id_of(to) }],
                "messages": [message],
            }),
        )
    }

    /// An accepted "mark as read".
    pub fn read() -> Self {
        Self::json(200, json!({ "success": true }))
    }
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.http_status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        match self.body {
            AnswerBody::Json(body) => (status, axum::Json(body)).into_response(),
            AnswerBody::Raw(body) => (status, [(header::CONTENT_TYPE, "text/html")], body).into_response(),
        }
    }
}

/// The `wa_id` Meta reports for a `to`: its digits (`+1 650-555-1234` → `16505551234`), or the
/// input itself when it has none.
pub(super) fn wa_id_of(to: &str) -> String {
    let digits: String = to.chars().filter(char::is_ascii_digit).collect();
    if digits.is_empty() {
        to.to_owned()
    } else {
        digits
    }
}

/// A fresh, unique message id shaped like Meta's: `wamid.` and the base64 of a small binary
/// record holding the recipient's `wa_id` and a hex id (so it starts `wamid.HBg…` too).
pub(super) fn new_wamid(to: &str, serial: u64) -> String {
    let wa_id = wa_id_of(to);
    let random = uuid::Uuid::now_v7().simple().to_string().to_uppercase();
    let id = format!("{serial:X}{}", &random[random.len() - 12..]);
    let mut raw = vec![0x1c, 0x18, u8::try_from(wa_id.len()).unwrap_or(u8::MAX)];
    raw.extend_from_slice(wa_id.as_bytes());
    raw.extend_from_slice(&[0x15, 0x02, 0x00, 0x11, 0x18, u8::try_from(id.len()).unwrap_or(u8::MAX)]);
    raw.extend_from_slice(id.as_bytes());
    raw.push(0x00);
    format!("wamid.{}", base64::engine::general_purpose::STANDARD.encode(raw))
}

/// A trace id shaped like Meta's `fbtrace_id`.
pub(super) fn new_trace(serial: u64) -> String {
    let uuid = uuid::Uuid::now_v7().simple().to_string();
    format!("A{serial:x}{}", &uuid[uuid.len() - 16..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_look_like_meta_ones_and_differ() {
        assert_eq!(wa_id_of("+1 (650) 555-1234"), "16505551234");
        assert_eq!(wa_id_of("US.13491208655302741918"), "13491208655302741918");
        assert_eq!(wa_id_of("abc"), "abc");
        let (a, b) = (new_wamid("16505551234", 1), new_wamid("16505551234", 2));
        assert!(a.starts_with("wamid.HBg") && a != b);
        assert_ne!(new_trace(1), new_trace(1));
    }

    #[test]
    fn error_bodies_read_back_as_meta_errors() {
        let Answer { http_status, body: AnswerBody::Json(body) } =
            Answer::meta_error(400, 131047, "Re-engagement message", "T")
        else {
            panic!("json");
        };
        let e = confab_channels::whatsapp::GraphError::from_response(
            http_status,
            &serde_json::to_vec(&body).expect("serialises"),
            None,
        );
        assert_eq!(
            (e.code, e.title.as_str(), e.fbtrace_id.as_deref()),
            (Some(131047), "Re-engagement message", Some("T"))
        );
    }
}
