//! Typed payloads of the actions the gateway handles, one module per action and version
//! ([`v16`], [`v201`]). Minimal but faithful to the official schemas: required fields are plain,
//! optional ones `Option`, enums have the exact spellings of the schema, and every object keeps
//! fields it does not model (vendor extensions, OCPP 2.0.1 `customData`) in a flattened `extra`
//! map, so a payload survives a round trip unchanged.
//!
//! The transport hands the business layer validated [`serde_json::Value`]s; these types are for
//! reading them ([`from_payload`]) and for typed outbound calls
//! ([`Gateway::call`](crate::Gateway::call)). A test generates payloads from every schema
//! (all optional fields, every enum value) and checks each survives a round trip through its type.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::version::OcppVersion;

/// Fields of an object the type does not model, kept as received.
pub type Extra = serde_json::Map<String, Value>;

/// A CALL payload type: its action, version and CALLRESULT payload type.
pub trait OcppRequest: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The action name, e.g. `RemoteStartTransaction`.
    const ACTION: &'static str;
    /// The protocol version of this type.
    const VERSION: OcppVersion;
    /// The CALLRESULT payload type.
    type Response: Serialize + DeserializeOwned + Send + Sync + 'static;
}

/// Reads a (validated) payload into its type.
pub fn from_payload<T: DeserializeOwned>(payload: Value) -> Result<T, serde_json::Error> {
    serde_json::from_value(payload)
}

/// Writes a typed payload as JSON. Serializing these types cannot fail (string keys, finite
/// numbers expected); a non-finite float becomes `null`, which validation then rejects.
pub fn to_payload<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// Defines a string enum with the exact spellings of the schema.
macro_rules! ocpp_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[allow(missing_docs)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant,)+
        }

        impl $name {
            /// Every value, in schema order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The spelling on the wire.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// Implements [`OcppRequest`] for a request type.
macro_rules! ocpp_request {
    ($request:ty => $response:ty, $action:literal, $version:ident) => {
        impl $crate::messages::OcppRequest for $request {
            const ACTION: &'static str = $action;
            const VERSION: $crate::version::OcppVersion = $crate::version::OcppVersion::$version;
            type Response = $response;
        }
    };
}

// `ocpp_enum!` and `ocpp_request!` reach the submodules below by textual scope.

pub mod v16;
pub mod v201;

#[cfg(test)]
mod tests;
