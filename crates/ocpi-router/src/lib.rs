//! The OCPI side of the hub: the HTTP API (versions, credentials, hubclientinfo and the routed
//! modules), the forwarding client and the durable delivery worker.

pub mod auth;
pub mod client;
pub mod credentials;
pub mod delivery;
pub mod hosted;
pub mod hub_client_info;
pub mod pagination;
pub mod publish;
pub mod reply;
pub mod reports;
pub mod routing;
pub mod state;
pub mod v211;
pub mod versions;

use actix_web::{App, HttpServer, web};
use state::AppState;
use std::sync::Arc;

/// Registers every OCPI route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    // Resources rather than method-guarded routes: another method on these paths gets 405.
    cfg.service(web::resource("/ocpi/versions").get(versions::versions))
        .service(web::resource("/ocpi/2.2.1").get(versions::details_221))
        .service(
            web::resource("/ocpi/2.2.1/credentials")
                .get(credentials::get)
                .post(credentials::post_or_put)
                .put(credentials::post_or_put)
                .delete(credentials::delete),
        )
        .service(web::resource("/ocpi/2.2.1/hubclientinfo").get(hub_client_info::list))
        // Settlement reports for the parties' finance teams (clearing), beside the OCPI API.
        .service(web::resource("/clearing/v1/reports").get(reports::get))
        // OCPI 2.1.1: version details and credentials; its modules go to the default service.
        .service(web::resource("/ocpi/2.1.1").get(versions::details_211))
        .service(
            web::resource("/ocpi/2.1.1/credentials")
                .get(v211::credentials_get)
                .post(v211::credentials_post_or_put)
                .put(v211::credentials_post_or_put)
                .delete(credentials::delete),
        )
        // Everything else: the routed modules (`/ocpi/2.2.1/{sender|receiver}/{module}/...`,
        // `/ocpi/2.1.1/{module}/...`) and callbacks (`/ocpi/2.2.1/callbacks/{id}`), dispatched
        // by hand; or a 404.
        .default_service(web::to(routing::handle));
}

/// Serves the OCPI API and runs the delivery worker until the server stops.
pub async fn serve(state: Arc<AppState>) -> std::io::Result<()> {
    serve_with(state, Arc::new(|_: &mut web::ServiceConfig| {})).await
}

/// Extra routes the binary adds to the OCPI listener (e.g. `/stripe/webhooks`), registered
/// before the routed modules' default service.
pub type ExtraRoutes = Arc<dyn Fn(&mut web::ServiceConfig) + Send + Sync>;

/// [`serve`] with `extra` routes on the same listener.
pub async fn serve_with(state: Arc<AppState>, extra: ExtraRoutes) -> std::io::Result<()> {
    let listen = state.config.http.listen.clone();
    let workers = state.config.http.workers.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2));
    let worker = tokio::spawn(delivery::run(state.clone()));
    let data = web::Data::from(state.clone());
    let config = state.config.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(web::Data::new(state::WorkerClient::new(&config)))
            .app_data(web::PayloadConfig::new(4 * 1024 * 1024))
            .configure(|cfg| extra(cfg))
            .configure(configure)
    })
    .workers(workers)
    // Leave file descriptors for outbound connections and the database: a flood of inbound
    // connections must not make forwarding fail with EMFILE.
    .max_connections(4096)
    .bind(&listen)?;
    tracing::info!(%listen, public_url = %state.public_url, "OCPI API listening");
    let result = server.run().await;
    worker.abort();
    result
}
