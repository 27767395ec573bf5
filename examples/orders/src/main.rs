//! Wires the settings and the router. Nothing else lives here.

use std::sync::Arc;

use auth_core::access::AccessSettings;
use auth_core::env::Env;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    auth_core::telemetry::init();
    // The same BETTER_AUTH_ACCESS_CONTROL the authorizer reads: one definition of the roles.
    let access = Env::read_process(AccessSettings::parse)?;
    // The authorizer's context; with AUTH_VERIFY_WITHOUT_AUTHORIZER=true (cargo lambda watch,
    // a Function URL) the request's own credential where no authorizer ran.
    let callers = auth_caller::Callers::from_env()?;
    lambda_http::run(orders_example::app(
        Arc::new(access.control),
        Arc::new(callers),
    ))
    .await
}
