//! Broadcast pushes that originate inside the hub rather than from an OCPI request: the objects
//! of hosted (micro-CPO) parties, written by the CLI (`location put`, `tariff put`) or by the OCPP
//! business handler (EVSE status changes).
//!
//! The receivers are chosen here for routed broadcasts (`routing.rs`) too: every registered
//! platform (CONNECTED or OFFLINE) implementing the module's receiver interface with an opposite
//! role, addressed as its first fitting party. The hub's copy and the outbox deliveries are
//! written in one [`Store::apply`](hub_core::store::Store::apply) transaction, and the delivery
//! worker is woken (in a CLI process there is none: the serving hub's worker polls the outbox).

use crate::reply::{self, FROM_CC, FROM_PID, TO_CC, TO_PID};
use crate::state::AppState;
use hub_core::party::{ConnectionStatus, InterfaceRole, PartyKey, Platform, Role};
use hub_core::store::{NewDelivery, ObjectChange, ObjectKey, StoreError};
use std::sync::Arc;

/// One broadcast push.
pub struct Push<'a> {
    /// OCPI-from of the deliveries (the hub itself for hosted parties).
    pub from: &'a PartyKey,
    /// Role of the object's owner: decides which roles receive it.
    pub owner_role: Role,
    /// The object (its owner's platform is never a receiver).
    pub key: &'a ObjectKey,
    /// The change to the hub's copy, written with the deliveries.
    pub change: Option<ObjectChange>,
    pub method: &'a str,
    /// Appended to each receiver's endpoint URL (`/{cc}/{pid}/{id}[/{evse_uid}...]`).
    pub path: String,
    pub body: Option<String>,
}

/// What a broadcast did.
#[derive(Debug, Clone)]
pub struct Published {
    /// Deliveries queued (one per receiver).
    pub receivers: usize,
    /// The hub's copy after the change (see `Store::apply`).
    pub stored: Option<String>,
}

/// Receivers of a broadcast of `module` by a party of role `owner_role`, skipping the platforms
/// that host `owner`.
pub async fn broadcast_targets(
    state: &AppState,
    module: &str,
    owner: &PartyKey,
    owner_role: Role,
) -> Result<Vec<(Arc<Platform>, PartyKey)>, StoreError> {
    let dir = state.directory().await?;
    let wanted: &[Role] = match owner_role {
        Role::Cpo => &[Role::Emsp, Role::Nsp, Role::Nap, Role::Other, Role::Scsp],
        _ => &[Role::Cpo],
    };
    Ok(dir
        .iter()
        .filter(|p| !p.has_party(owner) && p.is_registered())
        .filter(|p| matches!(p.status, ConnectionStatus::Connected | ConnectionStatus::Offline))
        .filter(|p| p.endpoint(module, InterfaceRole::Receiver).is_some())
        .filter_map(|p| {
            let party = p.roles.iter().find(|r| wanted.contains(&r.role))?;
            Some((p.clone(), party.key()))
        })
        .collect())
}

/// Writes `push.change` to the hub's copy and queues the push for every receiver, in one
/// transaction. A PATCH whose object the hub has no copy of is still queued (like the router).
pub async fn broadcast_push(state: &AppState, push: Push<'_>) -> Result<Published, StoreError> {
    let owner = push.key.owner();
    let targets = broadcast_targets(state, &push.key.module, &owner, push.owner_role).await?;
    let correlation = uuid::Uuid::new_v4().to_string();
    let deliveries: Vec<NewDelivery> = targets
        .iter()
        .map(|(p, to)| NewDelivery {
            target_platform_id: p.id,
            object_key: push.key.ordering_key(),
            module: push.key.module.clone(),
            interface_role: InterfaceRole::Receiver,
            method: push.method.to_string(),
            path: push.path.clone(),
            absolute_url: false,
            headers: vec![
                (FROM_CC.into(), push.from.country_code.clone()),
                (FROM_PID.into(), push.from.party_id.clone()),
                (TO_CC.into(), to.country_code.clone()),
                (TO_PID.into(), to.party_id.clone()),
                (reply::X_CORRELATION_ID.into(), correlation.clone()),
            ],
            body: push.body.clone(),
        })
        .collect();
    let stored = state.store.apply(push.change, &deliveries).await?;
    if !deliveries.is_empty() {
        state.delivery_wakeup.notify_one();
    }
    Ok(Published { receivers: deliveries.len(), stored })
}
