//! TLS client configuration, shared by every outbound connection (PostgreSQL, the JWKS
//! endpoint, AWS): the `ring` provider and verified certificates only.

use std::sync::Arc;

/// A TLS client configuration on the `ring` provider trusting `roots`.
pub fn client_config(roots: rustls::RootCertStore) -> Result<rustls::ClientConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth())
}
