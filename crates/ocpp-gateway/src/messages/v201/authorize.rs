//! OCPP 2.0.1 `Authorize` (charging station → CSMS): may this id token charge? The ISO 15118
//! certificate fields are modelled as plain values.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::types::{IdToken, IdTokenInfo};
use crate::messages::Extra;

/// `AuthorizeRequest`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizeRequest {
    /// The token.
    pub id_token: IdToken,
    /// ISO 15118 contract certificate chain, PEM (max 5500).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    /// OCSP data of the contract certificate chain (1 to 4 `OCSPRequestDataType`, not modelled).
    #[serde(
        default,
        rename = "iso15118CertificateHashData",
        skip_serializing_if = "Option::is_none"
    )]
    pub iso15118_certificate_hash_data: Option<Vec<Value>>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

ocpp_enum!(
    /// Verdict on the ISO 15118 certificate.
    AuthorizeCertificateStatus {
        Accepted = "Accepted",
        SignatureError = "SignatureError",
        CertificateExpired = "CertificateExpired",
        CertificateRevoked = "CertificateRevoked",
        NoCertificateAvailable = "NoCertificateAvailable",
        CertChainError = "CertChainError",
        ContractCancelled = "ContractCancelled",
    }
);

/// `AuthorizeResponse`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizeResponse {
    /// Verdict on the token.
    pub id_token_info: IdTokenInfo,
    /// Verdict on the certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_status: Option<AuthorizeCertificateStatus>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

ocpp_request!(AuthorizeRequest => AuthorizeResponse, "Authorize", V201);
