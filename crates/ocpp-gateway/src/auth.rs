//! Charger authentication before the websocket upgrade: the [`ChargerAuth`] trait the hub
//! implements over its store, the HTTP Basic credentials of OCPP security profiles 1 and 2, and
//! [`StaticAuth`], an in-memory implementation for tests and small deployments.
//!
//! The transport answers, before upgrading: 404 for [`AuthResult::UnknownCharger`], 401 (with a
//! `WWW-Authenticate: Basic` challenge) for [`AuthResult::BadCredentials`] and 503 for
//! [`AuthResult::Unavailable`]. Basic credentials whose username is not the charger id are
//! rejected with 401 by the transport itself, without calling the trait.

use std::collections::HashMap;
use std::fmt;

use base64::Engine as _;

use crate::handler::BoxFuture;

/// HTTP Basic credentials sent by a charger (username = charger id, password = the charger's
/// `AuthorizationKey` / `BasicAuthPassword`).
#[derive(Clone, PartialEq, Eq)]
pub struct BasicAuth {
    /// The username (OCPP: the charger id).
    pub username: String,
    /// The password bytes as sent. OCPP 2.0.1 passwords are text; some 1.6 chargers send the raw
    /// bytes of their `AuthorizationKey`, so no encoding is assumed here.
    pub password: Vec<u8>,
}

impl BasicAuth {
    /// The password as UTF-8, if it is.
    pub fn password_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.password).ok()
    }

    /// Parses an `Authorization` header value (`Basic <base64(user:password)>`).
    pub fn from_header(value: &[u8]) -> Option<BasicAuth> {
        let value = std::str::from_utf8(value).ok()?.trim();
        let (scheme, token) = value.split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return None;
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(token.trim())
            .ok()?;
        let colon = decoded.iter().position(|&b| b == b':')?;
        let username = String::from_utf8(decoded[..colon].to_vec()).ok()?;
        Some(BasicAuth {
            username,
            password: decoded[colon + 1..].to_vec(),
        })
    }
}

impl fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BasicAuth")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// The verdict of [`ChargerAuth::check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthResult {
    /// Let the charger in.
    Accepted,
    /// No such charger: HTTP 404.
    UnknownCharger,
    /// Missing or wrong password: HTTP 401.
    BadCredentials,
    /// The check could not be made (store down): HTTP 503, the charger retries.
    Unavailable,
}

/// Decides whether a charger may connect. Called once per connection attempt, before the upgrade.
pub trait ChargerAuth: Send + Sync + 'static {
    /// `basic_auth` is `None` when the charger sent no (parseable) `Authorization: Basic` header.
    fn check<'a>(
        &'a self,
        charger_id: &'a str,
        basic_auth: Option<&'a BasicAuth>,
    ) -> BoxFuture<'a, AuthResult>;
}

/// Compares in time independent of where the first difference is.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// An in-memory charger list: id → password (`None`: security profile 0, no password needed).
#[derive(Debug, Clone, Default)]
pub struct StaticAuth {
    chargers: HashMap<String, Option<Vec<u8>>>,
}

impl StaticAuth {
    /// An empty list (every charger unknown).
    pub fn new() -> Self {
        StaticAuth::default()
    }

    /// Adds a charger with a password (profile 1/2).
    pub fn with_password(
        mut self,
        charger_id: impl Into<String>,
        password: impl AsRef<[u8]>,
    ) -> Self {
        self.chargers
            .insert(charger_id.into(), Some(password.as_ref().to_vec()));
        self
    }

    /// Adds a charger that connects without a password (profile 0).
    pub fn without_password(mut self, charger_id: impl Into<String>) -> Self {
        self.chargers.insert(charger_id.into(), None);
        self
    }

    fn verdict(&self, charger_id: &str, basic_auth: Option<&BasicAuth>) -> AuthResult {
        match self.chargers.get(charger_id) {
            None => AuthResult::UnknownCharger,
            Some(None) => AuthResult::Accepted,
            Some(Some(expected)) => match basic_auth {
                Some(b) if b.username == charger_id && constant_time_eq(&b.password, expected) => {
                    AuthResult::Accepted
                }
                _ => AuthResult::BadCredentials,
            },
        }
    }
}

impl ChargerAuth for StaticAuth {
    fn check<'a>(
        &'a self,
        charger_id: &'a str,
        basic_auth: Option<&'a BasicAuth>,
    ) -> BoxFuture<'a, AuthResult> {
        let verdict = self.verdict(charger_id, basic_auth);
        Box::pin(async move { verdict })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(user_pass: &str) -> Vec<u8> {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(user_pass)
        )
        .into_bytes()
    }

    #[test]
    fn parses_basic_headers() {
        let b = BasicAuth::from_header(&header("CP1:s3cr:et")).unwrap();
        assert_eq!(b.username, "CP1");
        assert_eq!(b.password_str(), Some("s3cr:et"));
        assert_eq!(
            BasicAuth::from_header(b"basic Q1AxOg==").unwrap().password,
            b""
        );
        assert!(BasicAuth::from_header(b"Bearer abc").is_none());
        assert!(BasicAuth::from_header(b"Basic !!!").is_none());
        assert!(BasicAuth::from_header(&header("no-colon")).is_none());
        assert!(BasicAuth::from_header(b"Basic").is_none());
        assert!(!format!("{b:?}").contains("s3cr"));
    }

    #[tokio::test]
    async fn static_auth() {
        let auth = StaticAuth::new()
            .with_password("CP1", "pw")
            .without_password("CP0");
        let good = BasicAuth {
            username: "CP1".into(),
            password: b"pw".to_vec(),
        };
        let bad = BasicAuth {
            username: "CP1".into(),
            password: b"px".to_vec(),
        };
        assert_eq!(auth.check("CP1", Some(&good)).await, AuthResult::Accepted);
        assert_eq!(
            auth.check("CP1", Some(&bad)).await,
            AuthResult::BadCredentials
        );
        assert_eq!(auth.check("CP1", None).await, AuthResult::BadCredentials);
        assert_eq!(auth.check("CP0", None).await, AuthResult::Accepted);
        assert_eq!(
            auth.check("CP9", Some(&good)).await,
            AuthResult::UnknownCharger
        );
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
