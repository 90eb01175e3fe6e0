//! OCPP-J RPC framing: parsing and writing `[2, id, action, payload]` (CALL),
//! `[3, id, payload]` (CALLRESULT) and `[4, id, code, description, details]` (CALLERROR), and
//! the CALLERROR codes of each version.
//!
//! This layer knows nothing about websockets or about the meaning of actions. The parser never
//! panics (a proptest fuzzes it); a malformed frame becomes a [`FrameError`] carrying the message
//! id when it could be read, so the connection can answer with a CALLERROR of the right version.
//!
//! Frame-level rules:
//! - the text must be a JSON array whose first element is an integer message type;
//! - the message id must be a non-empty string (OCPP says at most 36 characters; longer ids are
//!   rejected, echoed back in the CALLERROR when at most [`MAX_ECHOED_ID_LEN`] bytes long);
//! - a CALL has exactly 4 elements with a string action and an object payload;
//! - a CALLRESULT has exactly 3 elements with an object payload;
//! - a CALLERROR has 5 elements (4 tolerated: details missing), string code and description,
//!   object details;
//! - when the id cannot be read, the CALLERROR answer uses the id `"-1"` (OCPP 2.0.1, part 4).

use serde_json::{Map, Value};

use crate::version::OcppVersion;

/// Message type number of a CALL.
pub const CALL: u64 = 2;
/// Message type number of a CALLRESULT.
pub const CALL_RESULT: u64 = 3;
/// Message type number of a CALLERROR.
pub const CALL_ERROR: u64 = 4;
/// The longest message id OCPP allows (both versions).
pub const MAX_MESSAGE_ID_LEN: usize = 36;
/// The longest malformed message id still echoed back in a CALLERROR.
pub const MAX_ECHOED_ID_LEN: usize = 255;
/// The message id used in a CALLERROR when the id of the offending message cannot be read.
pub const UNKNOWN_MESSAGE_ID: &str = "-1";
/// OCPP 2.0.1 limits `errorDescription` to 255 characters; the gateway truncates to this for both
/// versions.
pub const MAX_ERROR_DESCRIPTION_LEN: usize = 255;

/// A CALLERROR code, version-neutral. [`ErrorCode::as_str`] gives the spelling of a version.
///
/// | code | OCPP 1.6 | OCPP 2.0.1 |
/// |---|---|---|
/// | `FormatViolation` | `FormationViolation` | `FormatViolation` |
/// | `OccurrenceConstraintViolation` | `OccurenceConstraintViolation` (sic) | `OccurrenceConstraintViolation` |
/// | `RpcFrameworkError` | `FormationViolation` | `RpcFrameworkError` |
/// | `MessageTypeNotSupported` | `FormationViolation` | `MessageTypeNotSupported` |
/// | every other code | same name | same name |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// Payload is syntactically incorrect or does not conform to the PDU structure.
    FormatViolation,
    /// A field violates occurrence constraints (missing required field, cardinality).
    OccurrenceConstraintViolation,
    /// Payload for the action is incomplete / not conform the PDU structure.
    ProtocolError,
    /// A field violates data type constraints (e.g. `"somestring": 12`).
    TypeConstraintViolation,
    /// A field contains an invalid value (enum, range, pattern).
    PropertyConstraintViolation,
    /// The action is not known by the receiver.
    NotImplemented,
    /// The action is recognized but not supported by the receiver.
    NotSupported,
    /// An internal error prevented the receiver from processing the action.
    InternalError,
    /// Any other error.
    GenericError,
    /// A security issue prevented the receiver from completing the action.
    SecurityError,
    /// The content is not a valid RPC request (e.g. the message id cannot be read). 2.0.1 only.
    RpcFrameworkError,
    /// The message type number is not supported. 2.0.1 only.
    MessageTypeNotSupported,
}

impl ErrorCode {
    /// Every code, for iteration in tests and parsers.
    pub const ALL: [ErrorCode; 12] = [
        ErrorCode::FormatViolation,
        ErrorCode::OccurrenceConstraintViolation,
        ErrorCode::ProtocolError,
        ErrorCode::TypeConstraintViolation,
        ErrorCode::PropertyConstraintViolation,
        ErrorCode::NotImplemented,
        ErrorCode::NotSupported,
        ErrorCode::InternalError,
        ErrorCode::GenericError,
        ErrorCode::SecurityError,
        ErrorCode::RpcFrameworkError,
        ErrorCode::MessageTypeNotSupported,
    ];

    /// The code as written on the wire for `version`.
    pub fn as_str(self, version: OcppVersion) -> &'static str {
        use ErrorCode::*;
        match (self, version) {
            (FormatViolation, OcppVersion::V16) => "FormationViolation",
            (FormatViolation, OcppVersion::V201) => "FormatViolation",
            (OccurrenceConstraintViolation, OcppVersion::V16) => "OccurenceConstraintViolation",
            (OccurrenceConstraintViolation, OcppVersion::V201) => "OccurrenceConstraintViolation",
            (RpcFrameworkError | MessageTypeNotSupported, OcppVersion::V16) => "FormationViolation",
            (RpcFrameworkError, OcppVersion::V201) => "RpcFrameworkError",
            (MessageTypeNotSupported, OcppVersion::V201) => "MessageTypeNotSupported",
            (ProtocolError, _) => "ProtocolError",
            (TypeConstraintViolation, _) => "TypeConstraintViolation",
            (PropertyConstraintViolation, _) => "PropertyConstraintViolation",
            (NotImplemented, _) => "NotImplemented",
            (NotSupported, _) => "NotSupported",
            (InternalError, _) => "InternalError",
            (GenericError, _) => "GenericError",
            (SecurityError, _) => "SecurityError",
        }
    }

    /// Reads a code received from a peer. Lenient: accepts the spelling of either version.
    pub fn parse(code: &str) -> Option<ErrorCode> {
        use ErrorCode::*;
        Some(match code {
            "FormatViolation" | "FormationViolation" => FormatViolation,
            "OccurrenceConstraintViolation" | "OccurenceConstraintViolation" => {
                OccurrenceConstraintViolation
            }
            "ProtocolError" => ProtocolError,
            "TypeConstraintViolation" => TypeConstraintViolation,
            "PropertyConstraintViolation" => PropertyConstraintViolation,
            "NotImplemented" => NotImplemented,
            "NotSupported" => NotSupported,
            "InternalError" => InternalError,
            "GenericError" => GenericError,
            "SecurityError" => SecurityError,
            "RpcFrameworkError" => RpcFrameworkError,
            "MessageTypeNotSupported" => MessageTypeNotSupported,
            _ => return None,
        })
    }
}

/// A CALLERROR the gateway sends in answer to a CALL: produced by framing, schema validation or
/// the business [`Handler`](crate::handler::Handler).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code:?}: {description}")]
pub struct CallErrorReply {
    /// The code; spelled per version when sent.
    pub code: ErrorCode,
    /// Human-readable description (truncated to 255 characters on the wire).
    pub description: String,
    /// `errorDetails`; must be a JSON object (anything else is sent as `{}`).
    pub details: Value,
}

impl CallErrorReply {
    /// A reply with empty details.
    pub fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        CallErrorReply {
            code,
            description: description.into(),
            details: Value::Object(Map::new()),
        }
    }

    /// Sets `errorDetails` (ignored unless it is an object).
    pub fn with_details(mut self, details: Value) -> Self {
        if details.is_object() {
            self.details = details;
        }
        self
    }

    /// `NotImplemented` for an action the receiver does not know.
    pub fn not_implemented(action: &str) -> Self {
        CallErrorReply::new(
            ErrorCode::NotImplemented,
            format!("action {action} is not implemented"),
        )
    }

    /// `NotSupported` for a known action the receiver does not handle.
    pub fn not_supported(action: &str) -> Self {
        CallErrorReply::new(
            ErrorCode::NotSupported,
            format!("action {action} is not supported"),
        )
    }

    /// `InternalError` with a description.
    pub fn internal(description: impl Into<String>) -> Self {
        CallErrorReply::new(ErrorCode::InternalError, description)
    }

    /// The CALLERROR frame answering message `id` in `version`.
    pub fn to_frame(&self, id: &str, version: OcppVersion) -> String {
        let details = if self.details.is_object() {
            self.details.clone()
        } else {
            Value::Object(Map::new())
        };
        Value::Array(vec![
            Value::from(CALL_ERROR),
            Value::from(id),
            Value::from(self.code.as_str(version)),
            Value::from(truncate(&self.description, MAX_ERROR_DESCRIPTION_LEN)),
            details,
        ])
        .to_string()
    }
}

/// Truncates to at most `max` characters (not bytes), on a character boundary.
pub(crate) fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((idx, _)) => &s[..idx],
        None => s,
    }
}

/// One well-formed OCPP-J message.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// `[2, id, action, payload]`
    Call {
        /// Message id.
        id: String,
        /// Action name, e.g. `BootNotification`.
        action: String,
        /// Request payload (a JSON object).
        payload: Value,
    },
    /// `[3, id, payload]`
    CallResult {
        /// Id of the CALL answered.
        id: String,
        /// Response payload (a JSON object).
        payload: Value,
    },
    /// `[4, id, code, description, details]`
    CallError {
        /// Id of the CALL answered.
        id: String,
        /// Error code as received (not necessarily a known one).
        code: String,
        /// Error description.
        description: String,
        /// Error details (an object; `{}` when absent).
        details: Value,
    },
}

impl Frame {
    /// The message id.
    pub fn id(&self) -> &str {
        match self {
            Frame::Call { id, .. } | Frame::CallResult { id, .. } | Frame::CallError { id, .. } => {
                id
            }
        }
    }

    /// The message type number (2, 3 or 4).
    pub fn message_type(&self) -> u64 {
        match self {
            Frame::Call { .. } => CALL,
            Frame::CallResult { .. } => CALL_RESULT,
            Frame::CallError { .. } => CALL_ERROR,
        }
    }

    /// The JSON text of the frame.
    pub fn to_json(&self) -> String {
        let v = match self {
            Frame::Call {
                id,
                action,
                payload,
            } => Value::Array(vec![
                Value::from(CALL),
                Value::from(id.as_str()),
                Value::from(action.as_str()),
                payload.clone(),
            ]),
            Frame::CallResult { id, payload } => Value::Array(vec![
                Value::from(CALL_RESULT),
                Value::from(id.as_str()),
                payload.clone(),
            ]),
            Frame::CallError {
                id,
                code,
                description,
                details,
            } => Value::Array(vec![
                Value::from(CALL_ERROR),
                Value::from(id.as_str()),
                Value::from(code.as_str()),
                Value::from(description.as_str()),
                details.clone(),
            ]),
        };
        v.to_string()
    }
}

/// Writes a CALL frame without cloning the payload.
pub fn call_frame(id: &str, action: &str, payload: &Value) -> String {
    // Serializing a tuple avoids building an intermediate Value::Array.
    serde_json::to_string(&(CALL, id, action, payload)).unwrap_or_else(|_| {
        // Value serialization cannot fail (string keys only); keep a valid frame regardless.
        format!("[2,{},{},{{}}]", Value::from(id), Value::from(action))
    })
}

/// Writes a CALLRESULT frame without cloning the payload.
pub fn call_result_frame(id: &str, payload: &Value) -> String {
    serde_json::to_string(&(CALL_RESULT, id, payload))
        .unwrap_or_else(|_| format!("[3,{},{{}}]", Value::from(id)))
}

/// A message that is not a well-formed OCPP-J frame.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("malformed OCPP-J message ({code:?}): {description}")]
pub struct FrameError {
    /// The message type number, when it could be read.
    pub message_type: Option<u64>,
    /// The message id, when it could be read (and is short enough to echo).
    pub id: Option<String>,
    /// The code to answer with.
    pub code: ErrorCode,
    /// What is wrong.
    pub description: String,
}

impl FrameError {
    fn new(
        message_type: Option<u64>,
        id: Option<String>,
        code: ErrorCode,
        description: impl Into<String>,
    ) -> Self {
        FrameError {
            message_type,
            id,
            code,
            description: description.into(),
        }
    }

    /// Whether the peer gets a CALLERROR for it. Malformed CALLRESULTs and CALLERRORs are never
    /// answered (an answer to an answer could loop between two peers).
    pub fn should_reply(&self) -> bool {
        !matches!(self.message_type, Some(CALL_RESULT) | Some(CALL_ERROR))
    }

    /// The CALLERROR frame answering this error in `version` (id `"-1"` when unreadable).
    pub fn to_frame(&self, version: OcppVersion) -> String {
        CallErrorReply::new(self.code, self.description.clone())
            .to_frame(self.id.as_deref().unwrap_or(UNKNOWN_MESSAGE_ID), version)
    }
}

fn describe(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Parses one websocket text message as an OCPP-J frame.
pub fn parse_frame(text: &str) -> Result<Frame, FrameError> {
    use ErrorCode::{FormatViolation, MessageTypeNotSupported, RpcFrameworkError};
    let value: Value = serde_json::from_str(text).map_err(|e| {
        FrameError::new(
            None,
            None,
            RpcFrameworkError,
            format!("message is not valid JSON: {e}"),
        )
    })?;
    let Value::Array(items) = value else {
        return Err(FrameError::new(
            None,
            None,
            RpcFrameworkError,
            format!("message is {}, not an array", describe(&value)),
        ));
    };
    let mut items = items.into_iter();
    let Some(first) = items.next() else {
        return Err(FrameError::new(
            None,
            None,
            RpcFrameworkError,
            "message is an empty array",
        ));
    };
    // The id is read before the type is judged, so that even a bad type gets a useful answer.
    let second = items.next();
    let id = match &second {
        Some(Value::String(s)) if !s.is_empty() && s.len() <= MAX_ECHOED_ID_LEN => Some(s.clone()),
        _ => None,
    };
    let Some(message_type) = first.as_u64() else {
        return Err(FrameError::new(
            None,
            id,
            RpcFrameworkError,
            format!("message type must be an integer, got {}", describe(&first)),
        ));
    };
    if !matches!(message_type, CALL | CALL_RESULT | CALL_ERROR) {
        return Err(FrameError::new(
            Some(message_type),
            id,
            MessageTypeNotSupported,
            format!("message type {message_type} is not supported"),
        ));
    }
    let err = |id: Option<String>, code, description: String| {
        Err(FrameError::new(Some(message_type), id, code, description))
    };
    let id_string = match second {
        Some(Value::String(s)) if !s.is_empty() && s.len() <= MAX_MESSAGE_ID_LEN => s,
        Some(Value::String(s)) if s.is_empty() => {
            return err(None, RpcFrameworkError, "message id is empty".into());
        }
        Some(Value::String(s)) => {
            return err(
                id,
                RpcFrameworkError,
                format!(
                    "message id is {} characters long, at most {MAX_MESSAGE_ID_LEN} allowed",
                    s.chars().count()
                ),
            );
        }
        Some(other) => {
            return err(
                None,
                RpcFrameworkError,
                format!("message id must be a string, got {}", describe(&other)),
            );
        }
        None => return err(None, RpcFrameworkError, "message id is missing".into()),
    };
    let rest: Vec<Value> = items.collect();
    match message_type {
        CALL => {
            if rest.len() != 2 {
                return err(
                    Some(id_string),
                    RpcFrameworkError,
                    format!("a CALL has 4 elements, got {}", rest.len() + 2),
                );
            }
            let mut rest = rest.into_iter();
            let action = rest.next().unwrap_or(Value::Null);
            let payload = rest.next().unwrap_or(Value::Null);
            let Value::String(action) = action else {
                return err(
                    Some(id_string),
                    RpcFrameworkError,
                    format!("action must be a string, got {}", describe(&action)),
                );
            };
            if action.is_empty() {
                return err(Some(id_string), RpcFrameworkError, "action is empty".into());
            }
            if !payload.is_object() {
                return err(
                    Some(id_string),
                    FormatViolation,
                    format!("payload must be an object, got {}", describe(&payload)),
                );
            }
            Ok(Frame::Call {
                id: id_string,
                action,
                payload,
            })
        }
        CALL_RESULT => {
            if rest.len() != 1 {
                return err(
                    Some(id_string),
                    RpcFrameworkError,
                    format!("a CALLRESULT has 3 elements, got {}", rest.len() + 2),
                );
            }
            let payload = rest.into_iter().next().unwrap_or(Value::Null);
            if !payload.is_object() {
                return err(
                    Some(id_string),
                    FormatViolation,
                    format!("payload must be an object, got {}", describe(&payload)),
                );
            }
            Ok(Frame::CallResult {
                id: id_string,
                payload,
            })
        }
        _ => {
            if !(2..=3).contains(&rest.len()) {
                return err(
                    Some(id_string),
                    RpcFrameworkError,
                    format!("a CALLERROR has 5 elements, got {}", rest.len() + 2),
                );
            }
            let mut rest = rest.into_iter();
            let code = rest.next().unwrap_or(Value::Null);
            let description = rest.next().unwrap_or(Value::Null);
            let details = rest.next().unwrap_or_else(|| Value::Object(Map::new()));
            let Value::String(code) = code else {
                return err(
                    Some(id_string),
                    RpcFrameworkError,
                    format!("error code must be a string, got {}", describe(&code)),
                );
            };
            let description = match description {
                Value::String(s) => s,
                Value::Null => String::new(),
                other => {
                    return err(
                        Some(id_string),
                        RpcFrameworkError,
                        format!(
                            "error description must be a string, got {}",
                            describe(&other)
                        ),
                    );
                }
            };
            let details = match details {
                Value::Object(_) => details,
                Value::Null => Value::Object(Map::new()),
                other => {
                    return err(
                        Some(id_string),
                        RpcFrameworkError,
                        format!("error details must be an object, got {}", describe(&other)),
                    );
                }
            };
            Ok(Frame::CallError {
                id: id_string,
                code,
                description,
                details,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn parses_the_three_frames() {
        assert_eq!(
            parse_frame(r#"[2,"19223201","BootNotification",{"chargePointVendor":"V","chargePointModel":"M"}]"#).unwrap(),
            Frame::Call {
                id: "19223201".into(),
                action: "BootNotification".into(),
                payload: json!({"chargePointVendor":"V","chargePointModel":"M"})
            }
        );
        assert_eq!(
            parse_frame(r#"[3,"a",{"status":"Accepted"}]"#).unwrap(),
            Frame::CallResult {
                id: "a".into(),
                payload: json!({"status":"Accepted"})
            }
        );
        assert_eq!(
            parse_frame(r#"[4,"a","NotImplemented","nope",{"x":1}]"#).unwrap(),
            Frame::CallError {
                id: "a".into(),
                code: "NotImplemented".into(),
                description: "nope".into(),
                details: json!({"x":1})
            }
        );
        // details missing or null is tolerated
        assert_eq!(
            parse_frame(r#"[4,"a","GenericError",""]"#).unwrap(),
            Frame::CallError {
                id: "a".into(),
                code: "GenericError".into(),
                description: String::new(),
                details: json!({})
            }
        );
    }

    #[test]
    fn frames_round_trip() {
        let frames = [
            Frame::Call {
                id: "1".into(),
                action: "Heartbeat".into(),
                payload: json!({}),
            },
            Frame::CallResult {
                id: "2".into(),
                payload: json!({"currentTime":"2024-01-01T00:00:00Z"}),
            },
            Frame::CallError {
                id: "3".into(),
                code: "GenericError".into(),
                description: "d".into(),
                details: json!({}),
            },
        ];
        for f in frames {
            assert_eq!(parse_frame(&f.to_json()).unwrap(), f);
        }
        assert_eq!(
            call_frame("1", "Heartbeat", &json!({})),
            r#"[2,"1","Heartbeat",{}]"#
        );
        assert_eq!(
            call_result_frame("1", &json!({"a":1})),
            r#"[3,"1",{"a":1}]"#
        );
    }

    fn check(text: &str, message_type: Option<u64>, id: Option<&str>, code: ErrorCode) {
        let e = parse_frame(text).unwrap_err();
        assert_eq!(
            (e.message_type, e.id.as_deref(), e.code),
            (message_type, id, code),
            "{text}: {e}"
        );
    }

    #[test]
    fn malformed_frames() {
        use ErrorCode::*;
        check("not json", None, None, RpcFrameworkError);
        check(r#"{"a":1}"#, None, None, RpcFrameworkError);
        check("[]", None, None, RpcFrameworkError);
        check(
            r#"["2","id","Heartbeat",{}]"#,
            None,
            Some("id"),
            RpcFrameworkError,
        );
        check(
            r#"[2.0,"id","Heartbeat",{}]"#,
            None,
            Some("id"),
            RpcFrameworkError,
        );
        check(
            r#"[7,"id","Heartbeat",{}]"#,
            Some(7),
            Some("id"),
            MessageTypeNotSupported,
        );
        check(
            r#"[5,"id","Heartbeat",{}]"#,
            Some(5),
            Some("id"),
            MessageTypeNotSupported,
        );
        check(r#"[2,17,"Heartbeat",{}]"#, Some(2), None, RpcFrameworkError);
        check(r#"[2,"","Heartbeat",{}]"#, Some(2), None, RpcFrameworkError);
        check(r#"[2]"#, Some(2), None, RpcFrameworkError);
        let long = "x".repeat(37);
        check(
            &format!(r#"[2,"{long}","Heartbeat",{{}}]"#),
            Some(2),
            Some(&long),
            RpcFrameworkError,
        );
        let very_long = "x".repeat(300);
        check(
            &format!(r#"[2,"{very_long}","Heartbeat",{{}}]"#),
            Some(2),
            None,
            RpcFrameworkError,
        );
        check(
            r#"[2,"id","Heartbeat"]"#,
            Some(2),
            Some("id"),
            RpcFrameworkError,
        );
        check(
            r#"[2,"id","Heartbeat",{},1]"#,
            Some(2),
            Some("id"),
            RpcFrameworkError,
        );
        check(r#"[2,"id",3,{}]"#, Some(2), Some("id"), RpcFrameworkError);
        check(r#"[2,"id","",{}]"#, Some(2), Some("id"), RpcFrameworkError);
        check(
            r#"[2,"id","Heartbeat",[]]"#,
            Some(2),
            Some("id"),
            FormatViolation,
        );
        check(
            r#"[2,"id","Heartbeat",null]"#,
            Some(2),
            Some("id"),
            FormatViolation,
        );
        check(r#"[3,"id"]"#, Some(3), Some("id"), RpcFrameworkError);
        check(r#"[3,"id","x"]"#, Some(3), Some("id"), FormatViolation);
        check(
            r#"[4,"id",1,"",{}]"#,
            Some(4),
            Some("id"),
            RpcFrameworkError,
        );
        check(
            r#"[4,"id","GenericError","",[]]"#,
            Some(4),
            Some("id"),
            RpcFrameworkError,
        );
    }

    #[test]
    fn answers_to_answers_are_never_sent() {
        assert!(!parse_frame(r#"[3,"id","x"]"#).unwrap_err().should_reply());
        assert!(!parse_frame(r#"[4,"id"]"#).unwrap_err().should_reply());
        assert!(parse_frame(r#"[2,"id"]"#).unwrap_err().should_reply());
        assert!(parse_frame("garbage").unwrap_err().should_reply());
    }

    #[test]
    fn error_frames_use_the_version_spelling() {
        let e = parse_frame("garbage").unwrap_err();
        let v16: Value = serde_json::from_str(&e.to_frame(OcppVersion::V16)).unwrap();
        let v201: Value = serde_json::from_str(&e.to_frame(OcppVersion::V201)).unwrap();
        assert_eq!(v16[1], "-1");
        assert_eq!(v16[2], "FormationViolation");
        assert_eq!(v201[2], "RpcFrameworkError");
        let r = CallErrorReply::new(ErrorCode::OccurrenceConstraintViolation, "é".repeat(300));
        let f: Value = serde_json::from_str(&r.to_frame("9", OcppVersion::V16)).unwrap();
        assert_eq!(
            f,
            json!([4, "9", "OccurenceConstraintViolation", "é".repeat(255), {}])
        );
        let f: Value = serde_json::from_str(&r.to_frame("9", OcppVersion::V201)).unwrap();
        assert_eq!(f[2], "OccurrenceConstraintViolation");
    }

    #[test]
    fn error_code_spellings() {
        let v16: Vec<&str> = ErrorCode::ALL
            .iter()
            .map(|c| c.as_str(OcppVersion::V16))
            .collect();
        for code in [
            "FormationViolation",
            "OccurenceConstraintViolation",
            "ProtocolError",
            "TypeConstraintViolation",
            "PropertyConstraintViolation",
            "NotImplemented",
            "NotSupported",
            "InternalError",
            "GenericError",
            "SecurityError",
        ] {
            assert!(v16.contains(&code), "{code}");
        }
        assert!(!v16.contains(&"FormatViolation"));
        assert!(!v16.contains(&"OccurrenceConstraintViolation"));
        for code in ErrorCode::ALL {
            for v in OcppVersion::ALL {
                let parsed = ErrorCode::parse(code.as_str(v)).unwrap();
                assert_eq!(parsed.as_str(v), code.as_str(v));
            }
        }
        let v201: Vec<&str> = ErrorCode::ALL
            .iter()
            .map(|c| c.as_str(OcppVersion::V201))
            .collect();
        for code in [
            "FormatViolation",
            "OccurrenceConstraintViolation",
            "RpcFrameworkError",
            "MessageTypeNotSupported",
            "ProtocolError",
            "TypeConstraintViolation",
            "PropertyConstraintViolation",
            "NotImplemented",
            "NotSupported",
            "InternalError",
            "GenericError",
            "SecurityError",
        ] {
            assert!(v201.contains(&code), "{code}");
        }
    }

    #[test]
    fn truncate_counts_characters() {
        assert_eq!(truncate("abc", 2), "ab");
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("ééé", 2), "éé");
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            (0u64..6).prop_map(Value::from),
            ".{0,40}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(".{0,8}", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn never_panics_on_arbitrary_text(s in ".{0,200}") {
            let _ = parse_frame(&s);
        }

        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            let s = String::from_utf8_lossy(&bytes);
            if let Err(e) = parse_frame(&s) {
                // every error renders a valid frame in both versions
                for v in OcppVersion::ALL {
                    prop_assert!(serde_json::from_str::<Value>(&e.to_frame(v)).is_ok());
                }
            }
        }

        #[test]
        fn never_panics_on_arbitrary_json(v in arb_json()) {
            let text = v.to_string();
            match parse_frame(&text) {
                Ok(frame) => prop_assert_eq!(parse_frame(&frame.to_json()).unwrap(), frame),
                Err(e) => for ver in OcppVersion::ALL {
                    prop_assert!(serde_json::from_str::<Value>(&e.to_frame(ver)).is_ok());
                },
            }
        }

        #[test]
        fn never_panics_on_frame_like_arrays(
            t in prop_oneof![Just(Value::from(2)), Just(Value::from(3)), Just(Value::from(4)), arb_json()],
            rest in prop::collection::vec(arb_json(), 0..6),
        ) {
            let mut items = vec![t];
            items.extend(rest);
            let text = Value::Array(items).to_string();
            if let Ok(frame) = parse_frame(&text) {
                prop_assert_eq!(parse_frame(&frame.to_json()).unwrap(), frame);
            }
        }

        #[test]
        fn deep_nesting_is_an_error_not_a_crash(depth in 100usize..5000) {
            let text = format!("[2,\"a\",\"B\",{}{}]", "[".repeat(depth), "]".repeat(depth));
            let _ = parse_frame(&text);
        }
    }
}
