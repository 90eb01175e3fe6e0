//! OCPP 1.6 payload types, one module per action; everything is re-exported here.

pub mod types;

pub mod authorize;
pub mod boot_notification;
pub mod cancel_reservation;
pub mod clear_charging_profile;
pub mod data_transfer;
pub mod diagnostics_status_notification;
pub mod firmware_status_notification;
pub mod get_composite_schedule;
pub mod heartbeat;
pub mod meter_values;
pub mod remote_start_transaction;
pub mod remote_stop_transaction;
pub mod reserve_now;
pub mod set_charging_profile;
pub mod start_transaction;
pub mod status_notification;
pub mod stop_transaction;
pub mod unlock_connector;

pub use authorize::*;
pub use boot_notification::*;
pub use cancel_reservation::*;
pub use clear_charging_profile::*;
pub use data_transfer::*;
pub use diagnostics_status_notification::*;
pub use firmware_status_notification::*;
pub use get_composite_schedule::*;
pub use heartbeat::*;
pub use meter_values::*;
pub use remote_start_transaction::*;
pub use remote_stop_transaction::*;
pub use reserve_now::*;
pub use set_charging_profile::*;
pub use start_transaction::*;
pub use status_notification::*;
pub use stop_transaction::*;
pub use types::*;
pub use unlock_connector::*;

/// The request types of this module, for table-driven tests.
#[cfg(test)]
macro_rules! for_each_v16_request {
    ($m:ident) => {
        $m!(
            AuthorizeRequest,
            BootNotificationRequest,
            CancelReservationRequest,
            ClearChargingProfileRequest,
            DataTransferRequest,
            DiagnosticsStatusNotificationRequest,
            FirmwareStatusNotificationRequest,
            GetCompositeScheduleRequest,
            HeartbeatRequest,
            MeterValuesRequest,
            RemoteStartTransactionRequest,
            RemoteStopTransactionRequest,
            ReserveNowRequest,
            SetChargingProfileRequest,
            StartTransactionRequest,
            StatusNotificationRequest,
            StopTransactionRequest,
            UnlockConnectorRequest
        )
    };
}
#[cfg(test)]
pub(crate) use for_each_v16_request;
