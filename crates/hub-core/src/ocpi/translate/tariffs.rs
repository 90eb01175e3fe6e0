//! Tariffs module: [`tariff_to_v221`]/[`tariff_to_v211`].
//!
//! Lossy parts (see `docs/ocpi-2.1.1-mapping.md`):
//! - 2.1.1 → 2.2.1: `country_code` and `party_id` come from the owner; nothing is lost.
//! - 2.2.1 → 2.1.1: `country_code`, `party_id`, `type`, `min_price`, `max_price`,
//!   `start_date_time`, `end_date_time`, each price component's `vat` and the restrictions
//!   `min_current`, `max_current` and `reservation` are dropped. An element restricted to
//!   reservations (`reservation` set) is left out entirely: without the restriction it would
//!   price the charging itself.

use super::types::{energy_mix_to_v211, energy_mix_to_v221};
use super::{PartyKey, TranslateError, V211};
use crate::ocpi::{v211, v221};

/// 2.1.1 Tariff → 2.2.1. `owner` is the CPO that owns the tariff (the `{country_code}/
/// {party_id}` of the push URL, or the CDR's owner for a tariff inside a CDR).
pub fn tariff_to_v221(t: &v211::Tariff, owner: &PartyKey) -> v221::Tariff {
    v221::Tariff {
        country_code: owner.country_code.clone(),
        party_id: owner.party_id.clone(),
        id: t.id.clone(),
        currency: t.currency.clone(),
        r#type: None,
        tariff_alt_text: t.tariff_alt_text.clone(),
        tariff_alt_url: t.tariff_alt_url.clone(),
        min_price: None,
        max_price: None,
        elements: t
            .elements
            .iter()
            .map(|e| v221::TariffElement {
                price_components: e
                    .price_components
                    .iter()
                    .map(|p| v221::PriceComponent {
                        r#type: p.r#type,
                        price: p.price,
                        vat: None,
                        step_size: p.step_size,
                        extra: p.extra.clone(),
                    })
                    .collect(),
                restrictions: e.restrictions.as_ref().map(restrictions_to_v221),
                extra: e.extra.clone(),
            })
            .collect(),
        start_date_time: None,
        end_date_time: None,
        energy_mix: t.energy_mix.as_ref().map(energy_mix_to_v221),
        last_updated: t.last_updated.clone(),
        extra: t.extra.clone(),
    }
}

/// 2.2.1 Tariff → 2.1.1. Fails when every element is a reservation element.
pub fn tariff_to_v211(t: &v221::Tariff) -> Result<v211::Tariff, TranslateError> {
    let elements: Vec<_> = t
        .elements
        .iter()
        .filter(|e| !is_reservation(e))
        .map(|e| v211::TariffElement {
            price_components: e
                .price_components
                .iter()
                .map(|p| v211::PriceComponent {
                    r#type: p.r#type,
                    price: p.price,
                    step_size: p.step_size,
                    extra: p.extra.clone(),
                })
                .collect(),
            restrictions: e.restrictions.as_ref().map(restrictions_to_v211),
            extra: e.extra.clone(),
        })
        .collect();
    if elements.is_empty()
        && let Some(reservation) = t
            .elements
            .first()
            .and_then(|e| e.restrictions.as_ref())
            .and_then(|r| r.reservation)
    {
        return Err(TranslateError::no_equivalent(
            "elements[0].restrictions.reservation",
            reservation,
            V211,
        ));
    }
    Ok(v211::Tariff {
        id: t.id.clone(),
        currency: t.currency.clone(),
        tariff_alt_text: t.tariff_alt_text.clone(),
        tariff_alt_url: t.tariff_alt_url.clone(),
        elements,
        energy_mix: t.energy_mix.as_ref().map(energy_mix_to_v211),
        last_updated: t.last_updated.clone(),
        extra: t.extra.clone(),
    })
}

fn is_reservation(e: &v221::TariffElement) -> bool {
    e.restrictions
        .as_ref()
        .is_some_and(|r| r.reservation.is_some())
}

fn restrictions_to_v221(r: &v211::TariffRestrictions) -> v221::TariffRestrictions {
    v221::TariffRestrictions {
        start_time: r.start_time.clone(),
        end_time: r.end_time.clone(),
        start_date: r.start_date.clone(),
        end_date: r.end_date.clone(),
        min_kwh: r.min_kwh,
        max_kwh: r.max_kwh,
        min_current: None,
        max_current: None,
        min_power: r.min_power,
        max_power: r.max_power,
        min_duration: r.min_duration,
        max_duration: r.max_duration,
        day_of_week: r.day_of_week.clone(),
        reservation: None,
        extra: r.extra.clone(),
    }
}

fn restrictions_to_v211(r: &v221::TariffRestrictions) -> v211::TariffRestrictions {
    v211::TariffRestrictions {
        start_time: r.start_time.clone(),
        end_time: r.end_time.clone(),
        start_date: r.start_date.clone(),
        end_date: r.end_date.clone(),
        min_kwh: r.min_kwh,
        max_kwh: r.max_kwh,
        min_power: r.min_power,
        max_power: r.max_power,
        min_duration: r.min_duration,
        max_duration: r.max_duration,
        day_of_week: r.day_of_week.clone(),
        extra: r.extra.clone(),
    }
}
