//! `CloudError`: every failure of a cloud call, classified once (not found, conflict,
//! retryable) so callers never match on message text.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum CloudError {
    /// Configuration: no such clouds.yaml entry, missing `OS_*` variables, unreadable CA file.
    #[error("cloud configuration: {message}")]
    Config { message: String },
    #[error("authentication against {auth_url} failed")]
    Auth {
        auth_url: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("the catalog has no {service} endpoint (interface {interface}, region {region})")]
    NoEndpoint {
        service: String,
        interface: String,
        region: String,
    },
    /// An HTTP answer other than 2xx. `request_id` is Neutron's/Nova's `x-openstack-request-id`.
    #[error("{method} {url}: HTTP {status}{}: {message}", request_id.as_deref().map(|r| format!(" ({r})")).unwrap_or_default())]
    Http {
        method: String,
        url: String,
        status: u16,
        request_id: Option<String>,
        message: String,
    },
    /// No answer at all (connection refused, reset, timeout).
    #[error("{method} {url}: no answer")]
    Transport {
        method: String,
        url: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// An answer that does not parse as the documented body.
    #[error("{what}: unexpected answer: {message}")]
    Decode { what: String, message: String },
}

impl CloudError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, CloudError::Http { status: 404, .. })
    }
    pub fn is_conflict(&self) -> bool {
        matches!(self, CloudError::Http { status: 409, .. })
    }
    /// 5xx and transport errors: worth another try with backoff.
    pub fn is_retryable(&self) -> bool {
        match self {
            CloudError::Http { status, .. } => *status >= 500,
            CloudError::Transport { .. } => true,
            _ => false,
        }
    }
}
