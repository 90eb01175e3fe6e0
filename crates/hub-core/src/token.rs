//! Credentials tokens: generation, storage form and parsing of the Authorization header.
//!
//! Tokens the hub issues (invite tokens and server tokens) are stored as an argon2 hash plus a
//! short SHA-256 lookup key. The lookup key only narrows the candidate rows; the argon2 hash is
//! what proves the token. Tokens are 256-bit random, so the short lookup key reveals nothing useful.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash};
use base64::Engine;
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("token hashing failed: {0}")]
    Hash(String),
}

/// A new random token: 64 hex characters (OCPI allows string(64)).
pub fn generate() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The lookup key stored beside the hash: first 16 hex characters of SHA-256.
pub fn lookup_key(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    hex::encode(&digest[..8])
}

/// A full SHA-256 of the token, for in-memory caches (never stored).
pub fn fingerprint(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Argon2id PHC string of the token.
pub fn hash(token: &str) -> Result<String, TokenError> {
    Argon2::default()
        .hash_password(token.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| TokenError::Hash(e.to_string()))
}

/// Argon2id PHC string of a secret the hub generated itself (at least 128 random bits): with
/// such a secret there is nothing to guess, so the work factor that protects human passwords
/// only costs CPU at every verification (tens of ms each, minutes of CPU when 10 000 chargers
/// reconnect after a restart). Cheap parameters (256 KiB, one pass) keep the hash one-way at
/// about a hundredth of the cost; [`verify`] reads the parameters from the hash itself.
pub fn hash_generated(secret: &str) -> Result<String, TokenError> {
    let params = argon2::Params::new(256, 1, 1, None).map_err(|e| TokenError::Hash(e.to_string()))?;
    Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
        .hash_password(secret.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| TokenError::Hash(e.to_string()))
}

/// A charger password the hub generates: 32 characters of `[A-Za-z0-9]` (190 bits; OCPP 2.0.1
/// allows 16 to 40 characters, and 1.6 chargers take it as their `AuthorizationKey`).
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..32).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

/// Whether `token` matches the stored PHC hash (with the parameters the hash names).
pub fn verify(token: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default().verify_password(token.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// The candidate tokens an `Authorization` header may carry, most likely first.
///
/// OCPI 2.2.1 says `Token <base64(token)>`; 2.1.1 and many 2.2.1 parties send the raw token.
/// A raw token can itself be valid Base64, so both readings are returned and tried in turn.
pub fn candidates(header: &str) -> Vec<String> {
    let value = header.trim();
    let value = match value.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("token") => rest.trim(),
        _ => return Vec::new(),
    };
    if value.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::with_capacity(2);
    let decoded = base64::engine::general_purpose::STANDARD.decode(value).ok().and_then(|b| String::from_utf8(b).ok());
    if let Some(s) = decoded.filter(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_graphic())) {
        out.push(s);
    }
    out.push(value.to_string());
    out
}

/// `Authorization` header value for calling a party with `token` in the given OCPI version.
pub fn authorization_header(token: &str, ocpi_version: &str) -> String {
    if ocpi_version.starts_with("2.1") {
        format!("Token {token}")
    } else {
        format!("Token {}", base64::engine::general_purpose::STANDARD.encode(token))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_hash_cheaply_and_verify() {
        let pw = generate_password();
        assert_eq!(pw.len(), 32);
        assert!(pw.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(pw, generate_password());
        let h = hash_generated(&pw).unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=256,t=1,p=1$"), "{h}");
        assert!(verify(&pw, &h));
        assert!(!verify("wrong", &h));
        // Human passwords keep the default (expensive) parameters.
        let strong = hash("a human password").unwrap();
        assert!(!strong.contains("m=256,"), "{strong}");
        assert!(verify("a human password", &strong));
    }

    #[test]
    fn hash_verifies_only_the_same_token() {
        let t = generate();
        let h = hash(&t).unwrap();
        assert!(verify(&t, &h));
        assert!(!verify(&generate(), &h));
        assert!(!h.contains(&t));
    }

    #[test]
    fn header_accepts_base64_and_raw() {
        let t = "abc-123";
        let b64 = base64::engine::general_purpose::STANDARD.encode(t);
        assert_eq!(candidates(&format!("Token {b64}"))[0], t);
        assert!(candidates(&format!("Token {t}")).contains(&t.to_string()));
        assert!(candidates("Bearer x").is_empty());
        assert!(candidates("Token ").is_empty());
    }
}
