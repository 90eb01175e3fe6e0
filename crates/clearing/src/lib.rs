//! Clearing: turning what happened at a charger into money (issue 5).
//!
//! - [`rating`]: the tariff engine. It prices a CDR, or a normalized usage timeline, against an
//!   OCPI 2.2.1 Tariff and gives the CDR totals (`total_cost`, `total_energy_cost`, ...).
//! - [`ledger`]: the double-entry ledger in the hub's database (append-only entries balanced per
//!   currency, balances derived from lines), the fee contracts ([`ledger::fees`]), the
//!   settlement of each CDR copy exactly once ([`ledger::settle`]) and the settlement periods
//!   with their statements and reports ([`ledger::statements`]).
//!
//! - [`payments`]: Stripe Connect: connected accounts, payouts and collections of statements,
//!   webhooks, drivers' ad-hoc payments; each movement of money is a ledger entry too.

pub mod ledger;
pub mod payments;
pub mod rating;
