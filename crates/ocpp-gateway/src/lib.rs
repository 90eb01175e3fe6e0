//! ocpp-gateway: placeholder; built in a later issue.
