//! Clearing: turning what happened at a charger into money (issue 5).
//!
//! - [`rating`]: the tariff engine. It prices a CDR, or a normalized usage timeline, against an
//!   OCPI 2.2.1 Tariff and gives the CDR totals (`total_cost`, `total_energy_cost`, ...).
//! - [`ledger`]: the double-entry ledger in the hub's database (append-only entries balanced per
//!   currency, balances derived from lines), the fee contracts ([`ledger::fees`]), the
//!   settlement of each CDR copy exactly once ([`ledger::settle`]) and the settlement periods
//!   with their statements and reports ([`ledger::statements`]).
//!
//! Stripe Connect payouts come later: they will be ledger entries too (see [`ledger`]).

pub mod ledger;
pub mod rating;
