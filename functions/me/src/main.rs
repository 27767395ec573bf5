//! Wires configuration, the (lazy) database pool and the handler. Nothing else lives here.

use std::sync::Arc;

use account_api::http::App;
use lambda_http::{Error, Request, run, service_fn};

// One event at a time per sandbox: a single-threaded runtime keeps the database round trip on
// one thread (no cross-thread wake-ups; measured by `make bench`).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    auth_core::telemetry::init();
    let config = auth_core::aws::config_from_env()
        .await
        .inspect_err(|e| tracing::error!(error = %e, "invalid configuration"))?;
    let app = Arc::new(App::from_config(&config)?);
    run(service_fn(move |request: Request| {
        let app = Arc::clone(&app);
        async move { Ok::<_, std::convert::Infallible>(me::handler::handle(&app, request).await) }
    }))
    .await
}
