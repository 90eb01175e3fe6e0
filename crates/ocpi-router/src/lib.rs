//! Router
