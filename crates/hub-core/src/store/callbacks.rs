//! Rewritten `response_url`s: a command or charging-profile request names a URL of the requester;
//! the hub hands the receiver its own callback URL instead and remembers where the result goes.

use super::{Result, Store, dispatch, now_micros};
use crate::party::PartyKey;
use sqlx::Row;

#[derive(Debug, Clone)]
pub struct Callback {
    pub id: String,
    pub requester_platform_id: i64,
    pub requester: PartyKey,
    pub receiver: PartyKey,
    pub module: String,
    pub response_url: String,
}

impl Store {
    pub async fn create_callback(&self, cb: &Callback) -> Result<()> {
        let now = now_micros();
        dispatch!(self, pool => {
            sqlx::query("INSERT INTO callbacks (id, requester_platform_id, requester_country_code, requester_party_id, receiver_country_code, receiver_party_id, module, response_url, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
                .bind(&cb.id).bind(cb.requester_platform_id).bind(&cb.requester.country_code).bind(&cb.requester.party_id)
                .bind(&cb.receiver.country_code).bind(&cb.receiver.party_id).bind(&cb.module).bind(&cb.response_url).bind(now)
                .execute(pool).await?;
            Ok(())
        })
    }

    pub async fn get_callback(&self, id: &str) -> Result<Option<Callback>> {
        dispatch!(self, pool => {
            let row = sqlx::query("SELECT id, requester_platform_id, requester_country_code, requester_party_id, receiver_country_code, receiver_party_id, module, response_url FROM callbacks WHERE id = $1")
                .bind(id).fetch_optional(pool).await?;
            row.map(|r| -> Result<Callback> {
                Ok(Callback {
                    id: r.try_get("id")?,
                    requester_platform_id: r.try_get("requester_platform_id")?,
                    requester: PartyKey::new(&r.try_get::<String, _>("requester_country_code")?, &r.try_get::<String, _>("requester_party_id")?),
                    receiver: PartyKey::new(&r.try_get::<String, _>("receiver_country_code")?, &r.try_get::<String, _>("receiver_party_id")?),
                    module: r.try_get("module")?,
                    response_url: r.try_get("response_url")?,
                })
            }).transpose()
        })
    }
}
