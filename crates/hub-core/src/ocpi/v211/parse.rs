//! Parsing and validation of OCPI 2.1.1 bodies: the 2.2.1 machinery, re-exported.
//!
//! [`parse`] and [`from_value`] are generic over any model implementing [`Validate`], so the
//! 2.1.1 models use them as they are: a body that is not JSON is [`ParseError::Syntax`], a body
//! of the wrong shape or content is [`ParseError::Invalid`] naming the field by its JSON path.
//! The checks of each 2.1.1 object are a [`Fields`] table next to its definition.
//!
//! How the 2.1.1 type column maps to a [`Rule`]:
//! - identifiers (`id`, `uid`, `auth_id`, `tariff_id`, ... typed `string(n)` or `CiString(n)`)
//!   are [`Rule::Id`]: printable ASCII, at most n characters, not empty;
//! - free text (`name`, `address`, `text`, `issuer`, ...) is [`Rule::Str`], checked for length
//!   only. The 2.1.1 `string` type says "only printable ASCII", but these fields hold natural
//!   language, and 2.2.1 (UTF-8) text must translate to 2.1.1;
//! - `country_code`, `party_id`, `country`, `currency`, `language`, times, dates and URLs use the
//!   same rules as 2.2.1;
//! - coordinates use the 2.2.1 [`Rule::Latitude`]/[`Rule::Longitude`] (5 to 7 decimals). The
//!   2.1.1 tables say exactly 6 decimals, but the spec's own examples use 5; accepting 5 to 7
//!   keeps every 2.1.1 value valid in 2.2.1 and the reverse.

pub use crate::ocpi::v221::parse::{
    FieldError, Fields, ParseError, Rule, Validate, from_value, join, parse, validate,
};
