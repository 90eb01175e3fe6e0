//! Hub Client Info: the hub's SENDER interface (GET the list of every party with its role and
//! status) and the pushes of ClientInfo to connected parties whenever a party's status changes.

use crate::auth::{self, Accept};
use crate::pagination::{self, Page};
use crate::reply::{self, Ids};
use crate::state::AppState;
use actix_web::{HttpRequest, HttpResponse, web};
use hub_core::ocpi::status;
use hub_core::party::{ConnectionStatus, InterfaceRole, PartyRole};
use hub_core::store::NewDelivery;
use serde_json::json;

const MODULE: &str = "hubclientinfo";

pub fn client_info(role: &PartyRole) -> serde_json::Value {
    json!({
        "party_id": role.party_id,
        "country_code": role.country_code,
        "role": role.role.as_str(),
        "status": role.status.as_str(),
        "last_updated": pagination::format_micros(role.last_updated),
    })
}

/// GET {hubclientinfo}: paginated list of all parties.
pub async fn list(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let ids = Ids::of(&req);
    if let Err(resp) = auth::authenticate(&state, &req, &ids, Accept::ServerToken).await {
        return resp;
    }
    let page = match Page::from_query(req.query_string()) {
        Ok(p) => p,
        Err(m) => return reply::error(&ids, status::INVALID_PARAMETERS, m),
    };
    match state.store.list_party_roles(page.date_from, page.date_to, page.offset, page.limit).await {
        Ok((roles, total)) => {
            let data: Vec<_> = roles.iter().map(client_info).collect();
            let next = (page.offset + (data.len() as i64) < total).then(|| {
                page.next_url(&format!("{}/hubclientinfo", state.version_url("2.2.1")), data.len() as i64, None)
            });
            let mut b = reply::builder(actix_web::http::StatusCode::OK, &ids, None, None);
            pagination::headers(&mut b, total, page.limit, next.as_deref());
            b.json(hub_core::ocpi::Envelope::success(Some(json!(data))))
        }
        Err(e) => {
            tracing::error!(error = %e, "hubclientinfo list failed");
            reply::error(&ids, status::SERVER_ERROR, "internal error")
        }
    }
}

/// Pushes the current ClientInfo of every party of `platform_id` to each other registered
/// platform that implements the hubclientinfo receiver. Queued durably; never fails the caller.
pub async fn announce(state: &AppState, platform_id: i64) {
    if let Err(e) = try_announce(state, platform_id).await {
        tracing::error!(error = %e, platform_id, "could not queue ClientInfo pushes");
    }
}

async fn try_announce(state: &AppState, platform_id: i64) -> Result<(), hub_core::store::StoreError> {
    let Some(changed) = state.store.get_platform(platform_id).await? else { return Ok(()) };
    let platforms = state.store.list_platforms().await?;
    let mut deliveries = Vec::new();
    for target in platforms.iter().filter(|p| p.id != platform_id) {
        if !target.is_registered() || !matches!(target.status, ConnectionStatus::Connected | ConnectionStatus::Offline) {
            continue;
        }
        if target.endpoint(MODULE, InterfaceRole::Receiver).is_none() {
            continue;
        }
        for role in &changed.roles {
            deliveries.push(NewDelivery {
                target_platform_id: target.id,
                object_key: format!("{MODULE}/{}/{}/{}", role.country_code, role.party_id, role.role),
                module: MODULE.into(),
                interface_role: InterfaceRole::Receiver,
                method: "PUT".into(),
                path: format!("/{}/{}", role.country_code, role.party_id),
                absolute_url: false,
                headers: Vec::new(),
                body: Some(client_info(role).to_string()),
            });
        }
    }
    if !deliveries.is_empty() {
        state.store.enqueue(&deliveries).await?;
        state.delivery_wakeup.notify_one();
    }
    Ok(())
}
