//! OCPP 1.6 `Authorize` (charger → CSMS): may this id tag charge?

use serde::{Deserialize, Serialize};

use super::types::IdTagInfo;
use crate::messages::Extra;

/// `Authorize.req`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizeRequest {
    /// The id tag (max 20).
    pub id_tag: String,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `Authorize.conf`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizeResponse {
    /// The verdict.
    pub id_tag_info: IdTagInfo,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

ocpp_request!(AuthorizeRequest => AuthorizeResponse, "Authorize", V16);
