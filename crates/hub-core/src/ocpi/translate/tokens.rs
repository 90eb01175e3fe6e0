//! Tokens module: [`token_to_v221`]/[`token_to_v211`],
//! [`authorization_info_to_v221`]/[`authorization_info_to_v211`],
//! [`location_references_to_v221`]/[`location_references_to_v211`] and the `TokenType`
//! mapping.
//!
//! Lossy parts (see `docs/ocpi-2.1.1-mapping.md`):
//! - 2.1.1 → 2.2.1: a token's `country_code`/`party_id` come from the eMSP; an
//!   AuthorizationInfo's `token` is the one the request was about; LocationReferences'
//!   `connector_ids` is dropped (2.2.1 has no such field).
//! - 2.2.1 → 2.1.1: a token's `country_code`, `party_id`, `group_id`, `default_profile_type`
//!   and `energy_contract` are dropped and `AD_HOC_USER`/`APP_USER` become `OTHER`; an
//!   AuthorizationInfo's `token` and `authorization_reference` are dropped.

use super::PartyKey;
use crate::ocpi::{v211, v221};

/// 2.1.1 Token → 2.2.1: `auth_id` becomes `contract_id`; `emsp` (the eMSP that pushed or owns
/// the token) gives `country_code` and `party_id`.
pub fn token_to_v221(t: &v211::Token, emsp: &PartyKey) -> v221::Token {
    v221::Token {
        country_code: emsp.country_code.clone(),
        party_id: emsp.party_id.clone(),
        uid: t.uid.clone(),
        r#type: token_type_to_v221(t.r#type),
        contract_id: t.auth_id.clone(),
        visual_number: t.visual_number.clone(),
        issuer: t.issuer.clone(),
        group_id: None,
        valid: t.valid,
        whitelist: t.whitelist,
        language: t.language.clone(),
        default_profile_type: None,
        energy_contract: None,
        last_updated: t.last_updated.clone(),
        extra: t.extra.clone(),
    }
}

/// 2.2.1 Token → 2.1.1: `contract_id` becomes `auth_id`.
pub fn token_to_v211(t: &v221::Token) -> v211::Token {
    v211::Token {
        uid: t.uid.clone(),
        r#type: token_type_to_v211(t.r#type),
        auth_id: t.contract_id.clone(),
        visual_number: t.visual_number.clone(),
        issuer: t.issuer.clone(),
        valid: t.valid,
        whitelist: t.whitelist,
        language: t.language.clone(),
        last_updated: t.last_updated.clone(),
        extra: t.extra.clone(),
    }
}

/// 2.1.1 `TokenType` → 2.2.1 (same value).
pub fn token_type_to_v221(t: v211::TokenType) -> v221::TokenType {
    match t {
        v211::TokenType::Other => v221::TokenType::Other,
        v211::TokenType::Rfid => v221::TokenType::Rfid,
    }
}

/// 2.2.1 `TokenType` → 2.1.1: `AD_HOC_USER` and `APP_USER` become `OTHER`.
pub fn token_type_to_v211(t: v221::TokenType) -> v211::TokenType {
    match t {
        v221::TokenType::Rfid => v211::TokenType::Rfid,
        v221::TokenType::AdHocUser | v221::TokenType::AppUser | v221::TokenType::Other => {
            v211::TokenType::Other
        }
    }
}

/// 2.1.1 AuthorizationInfo → 2.2.1. `token` is the token the authorization request was about
/// (2.2.1 returns it; 2.1.1 does not).
pub fn authorization_info_to_v221(
    a: &v211::AuthorizationInfo,
    token: &v221::Token,
) -> v221::AuthorizationInfo {
    v221::AuthorizationInfo {
        allowed: a.allowed,
        token: token.clone(),
        location: a.location.as_ref().map(location_references_to_v221),
        authorization_reference: None,
        info: a.info.clone(),
        extra: a.extra.clone(),
    }
}

/// 2.2.1 AuthorizationInfo → 2.1.1: `token` and `authorization_reference` are dropped.
pub fn authorization_info_to_v211(a: &v221::AuthorizationInfo) -> v211::AuthorizationInfo {
    v211::AuthorizationInfo {
        allowed: a.allowed,
        location: a.location.as_ref().map(location_references_to_v211),
        info: a.info.clone(),
        extra: a.extra.clone(),
    }
}

/// 2.1.1 LocationReferences → 2.2.1: `connector_ids` is dropped.
pub fn location_references_to_v221(r: &v211::LocationReferences) -> v221::LocationReferences {
    v221::LocationReferences {
        location_id: r.location_id.clone(),
        evse_uids: r.evse_uids.clone(),
        extra: r.extra.clone(),
    }
}

/// 2.2.1 LocationReferences → 2.1.1. Lossless.
pub fn location_references_to_v211(r: &v221::LocationReferences) -> v211::LocationReferences {
    v211::LocationReferences {
        location_id: r.location_id.clone(),
        evse_uids: r.evse_uids.clone(),
        connector_ids: None,
        extra: r.extra.clone(),
    }
}
