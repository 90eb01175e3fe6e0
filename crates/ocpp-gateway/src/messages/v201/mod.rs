//! OCPP 2.0.1 payload types, one module per action; everything is re-exported here.

pub mod types;

pub mod authorize;
pub mod boot_notification;
pub mod cancel_reservation;
pub mod clear_charging_profile;
pub mod get_composite_schedule;
pub mod heartbeat;
pub mod meter_values;
pub mod notify_ev_charging_needs;
pub mod request_start_transaction;
pub mod request_stop_transaction;
pub mod reserve_now;
pub mod set_charging_profile;
pub mod status_notification;
pub mod transaction_event;
pub mod unlock_connector;

pub use authorize::*;
pub use boot_notification::*;
pub use cancel_reservation::*;
pub use clear_charging_profile::*;
pub use get_composite_schedule::*;
pub use heartbeat::*;
pub use meter_values::*;
pub use notify_ev_charging_needs::*;
pub use request_start_transaction::*;
pub use request_stop_transaction::*;
pub use reserve_now::*;
pub use set_charging_profile::*;
pub use status_notification::*;
pub use transaction_event::*;
pub use types::*;
pub use unlock_connector::*;

/// The request types of this module, for table-driven tests.
#[cfg(test)]
macro_rules! for_each_v201_request {
    ($m:ident) => {
        $m!(
            AuthorizeRequest,
            BootNotificationRequest,
            CancelReservationRequest,
            ClearChargingProfileRequest,
            GetCompositeScheduleRequest,
            HeartbeatRequest,
            MeterValuesRequest,
            NotifyEvChargingNeedsRequest,
            RequestStartTransactionRequest,
            RequestStopTransactionRequest,
            ReserveNowRequest,
            SetChargingProfileRequest,
            StatusNotificationRequest,
            TransactionEventRequest,
            UnlockConnectorRequest
        )
    };
}
#[cfg(test)]
pub(crate) use for_each_v201_request;
