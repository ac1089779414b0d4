//! Meta's webhook verification handshake: `GET ?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…`.
//!
//! This module owns deciding whether to answer the handshake and with what: the challenge,
//! echoed verbatim, when the mode is `subscribe` and the token equals the configured one
//! (compared in constant time). With no token configured the handshake is always refused.
//! It does not build HTTP responses; the server maps `Ok(challenge)` to `200 text/plain` and
//! any error to `403`.

use serde::Deserialize;
use std::fmt;
use subtle::ConstantTimeEq;

/// The query string of Meta's GET handshake. Every field is optional so that a malformed
/// request reaches [`verify_handshake`] and gets a precise refusal instead of a 400.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
pub struct HandshakeQuery {
    #[serde(rename = "hub.mode")]
    pub mode: Option<String>,
    #[serde(rename = "hub.verify_token")]
    pub verify_token: Option<String>,
    #[serde(rename = "hub.challenge")]
    pub challenge: Option<String>,
}

/// `Debug` leaves the token out: it is a shared secret.
impl fmt::Debug for HandshakeQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandshakeQuery")
            .field("mode", &self.mode)
            .field("verify_token", &self.verify_token.as_ref().map(|_| "<redacted>"))
            .field("challenge", &self.challenge)
            .finish()
    }
}

/// Why the handshake was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HandshakeError {
    /// No verify token is configured (`CONFAB_WHATSAPP_VERIFY_TOKEN`), so nothing can match.
    NotConfigured,
    /// `hub.mode` is absent or not `subscribe`.
    WrongMode(Option<String>),
    /// `hub.verify_token` is absent or differs from the configured token.
    TokenMismatch,
    /// `hub.challenge` is absent: there is nothing to echo.
    MissingChallenge,
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotConfigured => f.write_str(
                "no WhatsApp verify token is configured (CONFAB_WHATSAPP_VERIFY_TOKEN), so the handshake is refused",
            ),
            Self::WrongMode(None) => f.write_str("hub.mode is missing; Meta sends hub.mode=subscribe"),
            Self::WrongMode(Some(mode)) => write!(f, "hub.mode is {mode:?}; only \"subscribe\" is accepted"),
            Self::TokenMismatch => f.write_str("hub.verify_token does not match the configured verify token"),
            Self::MissingChallenge => f.write_str("hub.challenge is missing"),
        }
    }
}

impl std::error::Error for HandshakeError {}

/// Answers Meta's handshake: returns the challenge to echo, or why not. An empty configured
/// token counts as not configured.
pub fn verify_handshake(query: &HandshakeQuery, expected_token: Option<&str>) -> Result<String, HandshakeError> {
    let expected = expected_token.filter(|t| !t.is_empty()).ok_or(HandshakeError::NotConfigured)?;
    if query.mode.as_deref() != Some("subscribe") {
        return Err(HandshakeError::WrongMode(query.mode.clone()));
    }
    let given = query.verify_token.as_deref().ok_or(HandshakeError::TokenMismatch)?;
    if !bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
        return Err(HandshakeError::TokenMismatch);
    }
    query.challenge.clone().ok_or(HandshakeError::MissingChallenge)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(mode: Option<&str>, token: Option<&str>, challenge: Option<&str>) -> HandshakeQuery {
        HandshakeQuery {
            mode: mode.map(str::to_owned),
            verify_token: token.map(str::to_owned),
            challenge: challenge.map(str::to_owned),
        }
    }

    #[test]
    fn echoes_the_challenge_when_everything_matches() {
        let q = query(Some("subscribe"), Some("s3cret"), Some("1158201444"));
        assert_eq!(verify_handshake(&q, Some("s3cret")), Ok("1158201444".to_owned()));
    }

    #[test]
    fn refuses_without_a_configured_token() {
        let q = query(Some("subscribe"), Some(""), Some("1"));
        assert_eq!(verify_handshake(&q, None), Err(HandshakeError::NotConfigured));
        assert_eq!(verify_handshake(&q, Some("")), Err(HandshakeError::NotConfigured));
    }

    #[test]
    fn refuses_wrong_mode_token_or_missing_challenge() {
        let t = Some("s3cret");
        assert_eq!(
            verify_handshake(&query(Some("unsubscribe"), t, Some("1")), t),
            Err(HandshakeError::WrongMode(Some("unsubscribe".into())))
        );
        assert_eq!(verify_handshake(&query(None, t, Some("1")), t), Err(HandshakeError::WrongMode(None)));
        for wrong in [None, Some(""), Some("s3cre"), Some("s3cret "), Some("S3CRET")] {
            assert_eq!(
                verify_handshake(&query(Some("subscribe"), wrong, Some("1")), t),
                Err(HandshakeError::TokenMismatch)
            );
        }
        assert_eq!(verify_handshake(&query(Some("subscribe"), t, None), t), Err(HandshakeError::MissingChallenge));
    }

    #[test]
    fn deserialises_meta_query_names_and_hides_the_token() {
        let q: HandshakeQuery = serde_json::from_value(serde_json::json!({
            "hub.mode": "subscribe", "hub.verify_token": "s3cret", "hub.challenge": "42"
        }))
        .expect("query shape");
        assert_eq!(q, query(Some("subscribe"), Some("s3cret"), Some("42")));
        assert!(!format!("{q:?}").contains("s3cret"));
    }
}
