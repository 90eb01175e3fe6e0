//! Credentials: [`credentials_to_v221`]/[`credentials_to_v211`].
//!
//! A 2.1.1 platform has one identity (`party_id`, `country_code`, `business_details`) and names
//! no role; a 2.2.1 platform lists one or more roles. Lossy parts (see
//! `docs/ocpi-2.1.1-mapping.md`): the role comes from the caller on the way to 2.2.1 (the hub
//! knows it from the invitation or the modules the party implements); on the way to 2.1.1 all
//! roles but one are dropped, and the chosen role's unknown fields join those of the
//! credentials object (where 2.1.1 keeps the identity), so they come back at that level.

use super::TranslateError;
use crate::ocpi::{v211, v221};

/// 2.1.1 Credentials → 2.2.1, with one role, `role`.
pub fn credentials_to_v221(c: &v211::Credentials, role: v221::Role) -> v221::Credentials {
    v221::Credentials {
        token: c.token.clone(),
        url: c.url.clone(),
        roles: vec![v221::CredentialsRole {
            role,
            business_details: c.business_details.clone(),
            party_id: c.party_id.clone(),
            country_code: c.country_code.clone(),
            extra: Default::default(),
        }],
        extra: c.extra.clone(),
    }
}

/// 2.2.1 Credentials → 2.1.1: the first role that is `role` (or the first role when `role` is
/// `None`) gives the identity. Fails when there is no such role.
pub fn credentials_to_v211(
    c: &v221::Credentials,
    role: Option<v221::Role>,
) -> Result<v211::Credentials, TranslateError> {
    let chosen = c
        .roles
        .iter()
        .find(|r| role.is_none_or(|role| r.role == role))
        .ok_or_else(|| match role {
            Some(role) => TranslateError::context("roles", format!("no role {role}")),
            None => TranslateError::context("roles", "no role"),
        })?;
    let mut extra = c.extra.clone();
    extra.extend(chosen.extra.iter().map(|(k, v)| (k.clone(), v.clone())));
    Ok(v211::Credentials {
        token: c.token.clone(),
        url: c.url.clone(),
        business_details: chosen.business_details.clone(),
        party_id: chosen.party_id.clone(),
        country_code: chosen.country_code.clone(),
        extra,
    })
}
