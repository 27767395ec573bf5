//! Wires configuration, the (lazy) database pool and the handler. Nothing else lives here.

use std::sync::Arc;

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use shared::Authenticator;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::telemetry::init();
    let config = shared::aws::config_from_env()
        .await
        .inspect_err(|e| tracing::error!(error = %e, "invalid configuration"))?;
    let auth = Arc::new(Authenticator::new(&config)?);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let auth = Arc::clone(&auth);
        async move { authorizer::handler::handle(&auth, event).await }
    }))
    .await
}
