//! Twilio's request signature: `X-Twilio-Signature`.
//!
//! This module owns checking and producing that header. Twilio's algorithm (its "Webhooks
//! security" page, and every official helper library): take the full URL Twilio requested
//! (scheme, host, path and query, exactly as configured), append each POST parameter sorted by
//! name — name then value, no separators — HMAC-SHA1 the UTF-8 string keyed with the account's
//! auth token, and base64 the 20-byte digest. Parameters that share a name are ordered by
//! value. Values are the *decoded* form values, so the signature does not depend on how the
//! body was percent-encoded.
//!
//! Twilio does not always sign the URL with the port as it was configured: the official
//! libraries accept the URL as given, without its port, and with the scheme's default port
//! (`:443`/`:80`) added. [`verify_signature`] does the same. The comparison is constant time
//! (`hmac`'s `verify_slice` on the decoded digest).
//!
//! It does not choose the URL (the server's `CONFAB_PUBLIC_URL` plus the request's path and
//! query) or the auth token (the sender that owns the number): those are the caller's. JSON
//! bodies signed with a `bodySHA256` query parameter are not used by WhatsApp messaging and
//! are not handled here.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use std::fmt;

/// The HTTP header Twilio puts the signature in.
pub const SIGNATURE_HEADER: &str = "X-Twilio-Signature";

const MAC_LEN: usize = 20;

/// Why a request's signature was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureError {
    /// The request carried no `X-Twilio-Signature` header.
    Missing,
    /// The header is not the base64 of a 20-byte HMAC-SHA1 digest.
    Malformed,
    /// The header is well formed but matches neither the URL nor the parameters under the
    /// auth token (wrong token, wrong public URL, or an altered request).
    Mismatch,
}

impl fmt::Display for SignatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Missing => "the X-Twilio-Signature header is missing",
            Self::Malformed => "the X-Twilio-Signature header is not a base64 HMAC-SHA1 digest",
            Self::Mismatch => {
                "the X-Twilio-Signature header does not match the request (wrong auth token, \
                 CONFAB_PUBLIC_URL not the URL Twilio calls, or an altered request)"
            }
        })
    }
}

impl std::error::Error for SignatureError {}

/// Decodes the header's digest without checking it against anything: a request without a
/// well-formed signature is not from Twilio, whoever it claims to be for.
pub fn check_header(header: Option<&str>) -> Result<[u8; MAC_LEN], SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?.trim();
    let bytes = STANDARD.decode(header).map_err(|_| SignatureError::Malformed)?;
    bytes.try_into().map_err(|_| SignatureError::Malformed)
}

/// Checks `header` against `url` and `params` under `auth_token`, trying the URL as given,
/// without its port, and with the scheme's default port (as Twilio's own libraries do).
pub fn verify_signature(
    auth_token: &str,
    url: &str,
    params: &[(String, String)],
    header: Option<&str>,
) -> Result<(), SignatureError> {
    let expected = check_header(header)?;
    let sorted = sorted_params(params);
    // `verify_slice` compares in constant time
    let matches = url_variants(url)
        .iter()
        .any(|candidate| signed_mac(auth_token, candidate, &sorted).verify_slice(&expected).is_ok());
    if matches {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The `X-Twilio-Signature` value Twilio would send for a request to `url` with `params`.
/// Used by the simulator and by tests.
pub fn sign(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mac = signed_mac(auth_token, url, &sorted_params(params));
    STANDARD.encode(mac.finalize().into_bytes())
}

fn sorted_params(params: &[(String, String)]) -> Vec<(&str, &str)> {
    let mut sorted: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    // byte order of UTF-8 is code-point order: what Twilio's libraries sort by
    sorted.sort_unstable();
    sorted
}

fn signed_mac(auth_token: &str, url: &str, sorted: &[(&str, &str)]) -> Hmac<Sha1> {
    // HMAC takes keys of any length (longer keys are hashed, shorter ones padded), so
    // `new_from_slice` cannot fail for `Hmac<Sha1>`.
    let mut mac = Hmac::<Sha1>::new_from_slice(auth_token.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    mac
}

/// `url` as given, without an explicit port, and with the scheme's default port when it had
/// none; duplicates removed. A string that is not `scheme://authority…` is tried as given only.
fn url_variants(url: &str) -> Vec<String> {
    let mut variants = vec![url.to_owned()];
    let Some(scheme_end) = url.find("://") else { return variants };
    let (scheme, rest) = (&url[..scheme_end], &url[scheme_end + 3..]);
    let authority_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_len);
    let host_start = authority.rfind('@').map_or(0, |at| at + 1);
    let (userinfo, host_port) = authority.split_at(host_start);
    // a port follows the last `:` unless that `:` is inside an IPv6 literal (`[::1]`)
    let port_at = host_port
        .rfind(':')
        .filter(|&i| !host_port[i..].contains(']'))
        .filter(|&i| host_port[i + 1..].bytes().all(|b| b.is_ascii_digit()));
    match port_at {
        Some(i) => variants.push(format!("{scheme}://{userinfo}{}{tail}", &host_port[..i])),
        None => {
            let default_port = match scheme.to_ascii_lowercase().as_str() {
                "https" => Some(443),
                "http" => Some(80),
                _ => None,
            };
            if let Some(port) = default_port.filter(|_| !host_port.is_empty()) {
                variants.push(format!("{scheme}://{userinfo}{host_port}:{port}{tail}"));
            }
        }
    }
    variants.dedup();
    variants
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    const DOC_URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";

    /// The example of Twilio's security docs and of its official libraries' test suites
    /// (twilio-python `tests/unit/test_request_validator.py`, twilio-php's validation guide):
    /// auth token `12345`, this URL and these `<Gather>` parameters sign to
    /// `RSOYDt4T1cUTdK1PDd93/VVr8B8=`. Re-derived independently with Python's `hmac`,
    /// `hashlib.sha1` and `base64` before being written here.
    fn doc_params() -> Vec<(String, String)> {
        params(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+14158675309"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("To", "+18005551212"),
        ])
    }

    #[test]
    fn twilio_documented_example() {
        assert_eq!(sign("12345", DOC_URL, &doc_params()), "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
        assert_eq!(verify_signature("12345", DOC_URL, &doc_params(), Some("RSOYDt4T1cUTdK1PDd93/VVr8B8=")), Ok(()));
    }

    /// The older edition of the same docs page used `+12349013030` for `Caller` and `From`,
    /// signing to `0/KCTR6DLpKmkAf8muzZqo1nDgQ=` (checked with Python as above).
    #[test]
    fn twilio_documented_example_older_edition() {
        let older = params(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]);
        assert_eq!(sign("12345", DOC_URL, &older), "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
    }

    /// twilio-python's vectors for the port variants (`kvajT1…` is the URL with `:443`,
    /// `0ZXoZL…` the http URL with `:80`) and for repeated names (`IK+Dwp…`), re-derived with
    /// Python.
    #[test]
    fn twilio_library_port_and_repeat_vectors() {
        let p = doc_params();
        // Twilio signed with the default port; we were configured without one
        assert_eq!(verify_signature("12345", DOC_URL, &p, Some("kvajT1Ptam85bY51eRf/AJRuM3w=")), Ok(()));
        let http = DOC_URL.replace("https", "http");
        assert_eq!(verify_signature("12345", &http, &p, Some("0ZXoZLH/DfblKGATFgpif+LLRf4=")), Ok(()));
        // configured with a port, Twilio signed without it
        let with_port = DOC_URL.replace(".com", ".com:1234");
        assert_eq!(verify_signature("12345", &with_port, &p, Some("RSOYDt4T1cUTdK1PDd93/VVr8B8=")), Ok(()));
        let repeats = params(&[("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "5678"), ("Digits", "1234")]);
        assert_eq!(sign("12345", DOC_URL, &repeats), "IK+Dwps556ElfBT0I3Rgjkr1wJU=");
    }

    /// A WhatsApp inbound form as Twilio posts it, with non-ASCII text and a `+` in values.
    /// Independently computed with:
    /// `base64.b64encode(hmac.new(b"confab-auth-token", (URL + "".join(k + v for k, v in
    /// sorted(P))).encode(), hashlib.sha1).digest())`.
    #[test]
    fn whatsapp_form_vector() {
        let p = params(&[
            ("SmsMessageSid", "SM0123456789abcdef0123456789abcdef"),
            ("NumMedia", "0"),
            ("ProfileName", "José"),
            ("WaId", "5511987654321"),
            ("Body", "olá, tudo bem? 👋"),
            ("To", "whatsapp:+14155238886"),
            ("From", "whatsapp:+5511987654321"),
            ("MessageSid", "SM0123456789abcdef0123456789abcdef"),
            ("AccountSid", "AC00000000000000000000000000000000"),
            ("ApiVersion", "2010-04-01"),
        ]);
        let url = "https://confab.example.com/webhooks/twilio";
        assert_eq!(sign("confab-auth-token", url, &p), "TNqBJucuAeBnit121x6ZCzwa5No=");
        assert_eq!(verify_signature("confab-auth-token", url, &p, Some("TNqBJucuAeBnit121x6ZCzwa5No=")), Ok(()));
        // an empty form signs the URL alone
        assert_eq!(sign("confab-auth-token", url, &[]), "BeFMjrFhleykv1rTGJOp8CrX8P0=");
    }

    #[test]
    fn anything_changed_is_a_mismatch() {
        let p = doc_params();
        let good = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";
        assert_eq!(verify_signature("12346", DOC_URL, &p, Some(good)), Err(SignatureError::Mismatch));
        let other_path = DOC_URL.replace("myapp", "other");
        assert_eq!(verify_signature("12345", &other_path, &p, Some(good)), Err(SignatureError::Mismatch));
        let mut altered = p.clone();
        altered[2].1 = "1235".into();
        assert_eq!(verify_signature("12345", DOC_URL, &altered, Some(good)), Err(SignatureError::Mismatch));
        let mut extra = p.clone();
        extra.push(("Body".into(), String::new()));
        assert_eq!(verify_signature("12345", DOC_URL, &extra, Some(good)), Err(SignatureError::Mismatch));
        // order of arrival does not matter, but scheme does
        let mut shuffled = p.clone();
        shuffled.reverse();
        assert_eq!(verify_signature("12345", DOC_URL, &shuffled, Some(good)), Ok(()));
        let http = DOC_URL.replace("https", "http");
        assert_eq!(verify_signature("12345", &http, &p, Some(good)), Err(SignatureError::Mismatch));
    }

    #[test]
    fn missing_and_malformed_headers_are_refused() {
        let p = doc_params();
        assert_eq!(verify_signature("12345", DOC_URL, &p, None), Err(SignatureError::Missing));
        for header in [
            "",
            "not base64!",
            "RSOYDt4T1cUTdK1PDd93/VVr8B8",
            "AAAA",
            "c2hhMjU2PTEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MA==",
        ] {
            assert_eq!(
                verify_signature("12345", DOC_URL, &p, Some(header)),
                Err(SignatureError::Malformed),
                "{header:?}"
            );
        }
        assert_eq!(verify_signature("12345", DOC_URL, &p, Some(" RSOYDt4T1cUTdK1PDd93/VVr8B8= ")), Ok(()));
        for e in [SignatureError::Missing, SignatureError::Malformed, SignatureError::Mismatch] {
            assert!(e.to_string().contains("X-Twilio-Signature"));
        }
    }

    #[test]
    fn url_variants_handle_ports_ipv6_and_odd_strings() {
        assert_eq!(
            url_variants("https://a.com/x?y=1"),
            ["https://a.com/x?y=1".to_owned(), "https://a.com:443/x?y=1".to_owned()]
        );
        assert_eq!(url_variants("http://a.com:8080"), ["http://a.com:8080".to_owned(), "http://a.com".to_owned()]);
        assert_eq!(
            url_variants("http://[::1]:8080/p"),
            ["http://[::1]:8080/p".to_owned(), "http://[::1]/p".to_owned()]
        );
        assert_eq!(url_variants("http://[::1]/p"), ["http://[::1]/p".to_owned(), "http://[::1]:80/p".to_owned()]);
        assert_eq!(
            url_variants("https://u:p@a.com:1/p"),
            ["https://u:p@a.com:1/p".to_owned(), "https://u:p@a.com/p".to_owned()]
        );
        assert_eq!(url_variants("ftp://a.com/p"), ["ftp://a.com/p".to_owned()]);
        assert_eq!(url_variants("no scheme"), ["no scheme".to_owned()]);
        assert_eq!(url_variants("https://"), ["https://".to_owned()]);
        assert_eq!(url_variants("https://a.com:/p"), ["https://a.com:/p".to_owned(), "https://a.com/p".to_owned()]);
    }
}
