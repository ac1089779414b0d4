//! Meta's webhook signature: `X-Hub-Signature-256: sha256=<hex>`.
//!
//! This module owns checking and producing that header. The MAC is HMAC-SHA256 keyed with the
//! app secret over the **raw request bytes**, exactly as they arrived: Meta escapes non-ASCII
//! characters (`\u00e9`), so any re-serialised form of the JSON signs differently. Callers must
//! verify before parsing and must never verify a re-encoded body. The comparison is constant
//! time (`hmac`'s `verify_slice`).
//!
//! It does not decide what to do with a missing app secret: the server refuses POST webhooks
//! when none is configured, before calling here.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;

/// The HTTP header Meta puts the signature in.
pub const SIGNATURE_HEADER: &str = "X-Hub-Signature-256";

const PREFIX: &str = "sha256=";
const MAC_LEN: usize = 32;

/// Why a webhook's signature was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureError {
    /// The request carried no `X-Hub-Signature-256` header.
    Missing,
    /// The header is not `sha256=` followed by 64 hex digits.
    Malformed,
    /// The header is well formed but does not match the body under our app secret.
    Mismatch,
}

impl fmt::Display for SignatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Missing => "the X-Hub-Signature-256 header is missing",
            Self::Malformed => "the X-Hub-Signature-256 header is not of the form sha256=<64 hex digits>",
            Self::Mismatch => {
                "the X-Hub-Signature-256 header does not match the body (wrong app secret, or the body was altered)"
            }
        })
    }
}

impl std::error::Error for SignatureError {}

fn keyed_mac(app_secret: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length (longer keys are hashed, shorter ones padded), so
    // `new_from_slice` cannot fail for `Hmac<Sha256>`.
    Hmac::<Sha256>::new_from_slice(app_secret).unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"))
}

/// Checks `header` (the value of `X-Hub-Signature-256`, if the request had one) against the
/// HMAC-SHA256 of `raw_body` under `app_secret`.
pub fn verify_signature(app_secret: &[u8], raw_body: &[u8], header: Option<&str>) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?.trim();
    let hex_digest = header
        .get(..PREFIX.len())
        .filter(|prefix| prefix.eq_ignore_ascii_case(PREFIX))
        .and_then(|_| header.get(PREFIX.len()..))
        .ok_or(SignatureError::Malformed)?;
    let expected = hex::decode(hex_digest).map_err(|_| SignatureError::Malformed)?;
    if expected.len() != MAC_LEN {
        return Err(SignatureError::Malformed);
    }
    let mut mac = keyed_mac(app_secret);
    mac.update(raw_body);
    mac.verify_slice(&expected).map_err(|_| SignatureError::Mismatch)
}

/// The `X-Hub-Signature-256` value Meta would send for `body`: `sha256=<lowercase hex>`.
/// Used by the simulator and by tests.
pub fn sign(app_secret: &[u8], body: &[u8]) -> String {
    let mut mac = keyed_mac(app_secret);
    mac.update(body);
    format!("{PREFIX}{}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"confab-test-app-secret";

    // Vectors computed independently with Python:
    //   import hmac, hashlib
    //   hmac.new(b"confab-test-app-secret", BODY, hashlib.sha256).hexdigest()
    const ENVELOPE: &[u8] = br#"{"object":"whatsapp_business_account","entry":[]}"#;
    const ENVELOPE_SIG: &str = "sha256=dfa9c0369b4451d4b559ec32b1617ecc6979e7be746c2a8865fc9f72ba312e4c";
    /// `{"text":"caf\u00e9"}` with the escape as six ASCII bytes, as Meta sends it.
    const ESCAPED: &[u8] = br#"{"text":"caf\u00e9"}"#;
    const ESCAPED_SIG: &str = "sha256=333e3d14d3de8b63a8186a9acffac4d9d3345cf518756f41b4e1b791d5df2c0a";
    /// The same JSON with a raw UTF-8 `é` (0xC3 0xA9).
    const RAW_UTF8: &[u8] = "{\"text\":\"café\"}".as_bytes();
    const RAW_UTF8_SIG: &str = "sha256=601ed50ac63430be576c7f984b06f530d8c0b329eb6e76444de546149917a700";
    const EMPTY_SIG: &str = "sha256=c285a37c12817468c620b90afea948afe26613ae111ccc3c86b6f3002ffc72b1";

    #[test]
    fn rfc_4231_test_case_2() {
        assert_eq!(
            sign(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn known_vectors_sign_and_verify() {
        for (body, sig) in
            [(ENVELOPE, ENVELOPE_SIG), (ESCAPED, ESCAPED_SIG), (RAW_UTF8, RAW_UTF8_SIG), (&b""[..], EMPTY_SIG)]
        {
            assert_eq!(sign(SECRET, body), sig);
            assert_eq!(verify_signature(SECRET, body, Some(sig)), Ok(()));
        }
    }

    #[test]
    fn header_is_read_leniently_but_strictly_enough() {
        let upper = ESCAPED_SIG.to_ascii_uppercase().replacen("SHA256=", "sha256=", 1);
        assert_eq!(verify_signature(SECRET, ESCAPED, Some(&upper)), Ok(()));
        assert_eq!(verify_signature(SECRET, ESCAPED, Some(&format!(" {ESCAPED_SIG} "))), Ok(()));
        let upper_prefix = ESCAPED_SIG.replacen("sha256=", "SHA256=", 1);
        assert_eq!(verify_signature(SECRET, ESCAPED, Some(&upper_prefix)), Ok(()));
    }

    #[test]
    fn re_serialised_json_no_longer_verifies() {
        // serde_json writes `é` raw, so the round trip changes the bytes Meta signed.
        let value: serde_json::Value = serde_json::from_slice(ESCAPED).expect("valid json");
        let reserialised = serde_json::to_vec(&value).expect("serialises");
        assert_eq!(reserialised, RAW_UTF8);
        assert_eq!(verify_signature(SECRET, &reserialised, Some(ESCAPED_SIG)), Err(SignatureError::Mismatch));
        // ...and the other way round.
        assert_eq!(verify_signature(SECRET, ESCAPED, Some(RAW_UTF8_SIG)), Err(SignatureError::Mismatch));
    }

    #[test]
    fn wrong_secret_or_altered_body_is_a_mismatch() {
        assert_eq!(verify_signature(b"another-secret", ENVELOPE, Some(ENVELOPE_SIG)), Err(SignatureError::Mismatch));
        let mut altered = ENVELOPE.to_vec();
        altered.push(b' ');
        assert_eq!(verify_signature(SECRET, &altered, Some(ENVELOPE_SIG)), Err(SignatureError::Mismatch));
        let flipped = ENVELOPE_SIG.replacen("dfa9", "dfa8", 1);
        assert_eq!(verify_signature(SECRET, ENVELOPE, Some(&flipped)), Err(SignatureError::Mismatch));
    }

    #[test]
    fn missing_and_malformed_headers_are_refused() {
        assert_eq!(verify_signature(SECRET, ENVELOPE, None), Err(SignatureError::Missing));
        let bare_hex = ENVELOPE_SIG.trim_start_matches("sha256=");
        let sha1 = format!("sha1={bare_hex}");
        let short = &ENVELOPE_SIG[..ENVELOPE_SIG.len() - 2];
        let long = format!("{ENVELOPE_SIG}00");
        let odd = &ENVELOPE_SIG[..ENVELOPE_SIG.len() - 1];
        let not_hex = ENVELOPE_SIG.replacen("dfa9", "zzzz", 1);
        for header in ["", "sha256=", "sha256", "é", bare_hex, &sha1, short, &long, odd, &not_hex] {
            assert_eq!(verify_signature(SECRET, ENVELOPE, Some(header)), Err(SignatureError::Malformed), "{header:?}");
        }
    }

    #[test]
    fn errors_explain_themselves() {
        for e in [SignatureError::Missing, SignatureError::Malformed, SignatureError::Mismatch] {
            assert!(e.to_string().contains("X-Hub-Signature-256"));
        }
    }
}
