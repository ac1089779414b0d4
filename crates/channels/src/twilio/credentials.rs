//! A Twilio sender's credentials: the account SID and its auth token.
//!
//! confab stores a Twilio sender's `access_token` as `"{AccountSid}:{AuthToken}"` (one secret
//! column for both providers). This module owns splitting and checking that value: the
//! AccountSid is `AC` and 32 hex digits; the auth token is what signs Twilio's webhooks and,
//! with the SID, authenticates API calls (HTTP Basic). The token stays a [`Secret`]: it is
//! never in `Debug`, `Display`, errors or logs. The AccountSid is not secret (it is in every
//! API URL).

use confab_domain::{Secret, ValidationError};

/// An account SID and its auth token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TwilioCredentials {
    account_sid: String,
    auth_token: Secret,
}

impl TwilioCredentials {
    pub fn new(account_sid: &str, auth_token: Secret) -> Result<Self, ValidationError> {
        let account_sid = account_sid.trim();
        if !is_account_sid(account_sid) {
            return Err(ValidationError::new(
                "access_token",
                "a Twilio AccountSid is AC followed by 32 hexadecimal digits (see the Twilio Console)",
            ));
        }
        if auth_token.expose().trim().is_empty() {
            return Err(ValidationError::new("access_token", "the Twilio auth token is empty"));
        }
        Ok(Self { account_sid: account_sid.to_owned(), auth_token: Secret::new(auth_token.expose().trim()) })
    }

    /// Reads a sender's stored `access_token`, `"{AccountSid}:{AuthToken}"`.
    pub fn from_access_token(access_token: &Secret) -> Result<Self, ValidationError> {
        let Some((sid, token)) = access_token.expose().split_once(':') else {
            return Err(ValidationError::new(
                "access_token",
                "a Twilio sender's access token is AccountSid:AuthToken (e.g. AC0123…:your-auth-token)",
            ));
        };
        Self::new(sid, Secret::new(token))
    }

    /// The value to store as the sender's `access_token`.
    pub fn to_access_token(&self) -> Secret {
        Secret::new(format!("{}:{}", self.account_sid, self.auth_token.expose()))
    }

    pub fn account_sid(&self) -> &str {
        &self.account_sid
    }

    pub fn auth_token(&self) -> &Secret {
        &self.auth_token
    }
}

fn is_account_sid(s: &str) -> bool {
    s.len() == 34 && s.starts_with("AC") && s[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SID: &str = "AC0123456789abcdef0123456789abcdef";

    #[test]
    fn reads_and_writes_stored_tokens() {
        let creds = TwilioCredentials::from_access_token(&Secret::new(format!("{SID}:s3cret-token"))).expect("valid");
        assert_eq!(creds.account_sid(), SID);
        assert_eq!(creds.auth_token().expose(), "s3cret-token");
        assert_eq!(creds.to_access_token().expose(), format!("{SID}:s3cret-token"));
        // a token containing ':' keeps everything after the first one
        let colon = TwilioCredentials::from_access_token(&Secret::new(format!("{SID}:a:b"))).expect("valid");
        assert_eq!(colon.auth_token().expose(), "a:b");
    }

    #[test]
    fn refuses_malformed_tokens_without_echoing_them() {
        for bad in [
            "",
            "s3cret",
            ":s3cret",
            "SK0123456789abcdef0123456789abcdef:s3cret",
            "AC123:s3cret",
            &format!("{SID}:"),
            &format!("{SID}:  "),
        ] {
            let err = TwilioCredentials::from_access_token(&Secret::new(bad)).expect_err("refused");
            assert!(!err.message.contains("s3cret"), "{err}");
        }
    }

    #[test]
    fn debug_never_shows_the_token() {
        let creds = TwilioCredentials::new(SID, Secret::new("s3cret-token")).expect("valid");
        let shown = format!("{creds:?}");
        assert!(shown.contains(SID) && !shown.contains("s3cret"), "{shown}");
    }
}
