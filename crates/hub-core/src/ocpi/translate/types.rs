//! Shared classes ([`energy_mix_to_v221`]/[`energy_mix_to_v211`]) and the `enum_map!` macro the
//! other translation files use for enums whose values keep their names across versions.
//!
//! Classes that are the same type in both versions ([`DisplayText`](crate::ocpi::v221::DisplayText),
//! `BusinessDetails`, `Image`, `GeoLocation`, `RegularHours`, ...) are cloned as they are.

use crate::ocpi::{v211, v221};

/// Defines the two conversions of an enum pair whose shared values have the same variant
/// names: `$to_v221` (every 2.1.1 value has a 2.2.1 value) and `$to_v211` (`None` for the
/// values listed after `v221_only`). Both matches are exhaustive, so a value added to either
/// enum does not compile until it is mapped.
macro_rules! enum_map {
    (
        $(#[$m221:meta])* fn $to_v221:ident;
        $(#[$m211:meta])* fn $to_v211:ident;
        $v211:ty => $v221:ty { $($var:ident),+ $(,)? }
        v221_only { $($only:ident),* $(,)? }
    ) => {
        $(#[$m221])*
        pub fn $to_v221(value: $v211) -> $v221 {
            type A = $v211;
            type B = $v221;
            match value {
                $( A::$var => B::$var, )+
            }
        }

        $(#[$m211])*
        pub fn $to_v211(value: $v221) -> Option<$v211> {
            type A = $v211;
            type B = $v221;
            match value {
                $( B::$var => Some(A::$var), )+
                $( B::$only => None, )*
            }
        }
    };
}
pub(crate) use enum_map;

/// 2.1.1 `EnergyMix` → 2.2.1: each environmental impact's `source` becomes `category`.
pub fn energy_mix_to_v221(m: &v211::EnergyMix) -> v221::EnergyMix {
    v221::EnergyMix {
        is_green_energy: m.is_green_energy,
        energy_sources: m.energy_sources.clone(),
        environ_impact: m.environ_impact.as_ref().map(|list| {
            list.iter()
                .map(|i| v221::EnvironmentalImpact {
                    category: i.source,
                    amount: i.amount,
                    extra: i.extra.clone(),
                })
                .collect()
        }),
        supplier_name: m.supplier_name.clone(),
        energy_product_name: m.energy_product_name.clone(),
        extra: m.extra.clone(),
    }
}

/// 2.2.1 `EnergyMix` → 2.1.1: each environmental impact's `category` becomes `source`.
pub fn energy_mix_to_v211(m: &v221::EnergyMix) -> v211::EnergyMix {
    v211::EnergyMix {
        is_green_energy: m.is_green_energy,
        energy_sources: m.energy_sources.clone(),
        environ_impact: m.environ_impact.as_ref().map(|list| {
            list.iter()
                .map(|i| v211::EnvironmentalImpact {
                    source: i.category,
                    amount: i.amount,
                    extra: i.extra.clone(),
                })
                .collect()
        }),
        supplier_name: m.supplier_name.clone(),
        energy_product_name: m.energy_product_name.clone(),
        extra: m.extra.clone(),
    }
}
