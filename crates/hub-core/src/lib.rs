//! Hub core: everything of the hub that is not transport.
//!
//! Configuration, the party/role domain, credentials tokens, the OCPI envelope and object
//! models, and the store over SQLite and PostgreSQL. The HTTP API lives in `ocpi-router`, the
//! OCPP gateway in `ocpp-gateway`.

pub mod config;
pub mod ocpi;
pub mod party;
pub mod store;
pub mod token;
