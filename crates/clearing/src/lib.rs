//! Clearing: turning what happened at a charger into money (issue 5).
//!
//! - [`rating`]: the tariff engine. It prices a CDR, or a normalized usage timeline, against an
//!   OCPI 2.2.1 Tariff and gives the CDR totals (`total_cost`, `total_energy_cost`, ...).
//!
//! Ledger, settlement and Stripe Connect come later.

pub mod rating;
