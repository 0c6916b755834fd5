//! Authenticated REST calls with one classification of failures and retries: 5xx and
//! transport errors are retried with exponential backoff (0.2 s doubling, 5 attempts) for
//! GET, PUT and DELETE. A POST is retried after a 5xx answer (Neutron's API rolls the
//! transaction back before answering 500, e.g. SQLite's "database is locked") and after a
//! connect error, but not after any other transport error: a request that may have been
//! processed without an answer is not sent twice. Every write is logged at debug with its
//! request id; the token is never logged.

use std::path::Path;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::error::CloudError;

const ATTEMPTS: u32 = 5;
const FIRST_PAUSE: Duration = Duration::from_millis(200);

pub struct Http {
    client: reqwest::Client,
    token: String,
}

fn transport(method: &Method, url: &str, e: reqwest::Error) -> CloudError {
    CloudError::Transport {
        method: method.to_string(),
        url: url.to_owned(),
        source: Box::new(e),
    }
}

/// The message of an OpenStack error body (`NeutronError.message`, `badRequest.message`,
/// `itemNotFound.message` ...), or the body itself.
fn error_message(body: &str) -> String {
    let Ok(v) = serde_json::from_str::<Value>(body) else {
        return body.chars().take(300).collect();
    };
    v.as_object()
        .and_then(|o| {
            o.values()
                .find_map(|inner| inner["message"].as_str().map(str::to_owned))
        })
        .or_else(|| v["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| body.chars().take(300).collect())
}

impl Http {
    pub fn new(token: String, cacert: Option<&Path>) -> Result<Http, CloudError> {
        let mut builder = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("octa/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = cacert {
            let pem = std::fs::read(path).map_err(|e| CloudError::Config {
                message: format!("cannot read the CA bundle {}: {e}", path.display()),
            })?;
            for cert in
                reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| CloudError::Config {
                    message: format!("{} is not a PEM CA bundle: {e}", path.display()),
                })?
            {
                builder = builder.add_root_certificate(cert);
            }
        }
        let client = builder.build().map_err(|e| CloudError::Config {
            message: format!("building the HTTP client: {e}"),
        })?;
        Ok(Http { client, token })
    }

    /// Sends one request, retrying as the module doc says; the JSON answer (Null for 204).
    pub async fn call(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<Value, CloudError> {
        let mut pause = FIRST_PAUSE;
        let mut attempt = 1;
        loop {
            let result = self.once(&method, url, body).await;
            let retry = match &result {
                Err(CloudError::Transport { source, .. }) if method == Method::POST => source
                    .downcast_ref::<reqwest::Error>()
                    .is_some_and(reqwest::Error::is_connect),
                Err(e) => e.is_retryable(),
                Ok(_) => false,
            };
            if !retry || attempt >= ATTEMPTS {
                return result;
            }
            tracing::debug!(%method, url, attempt, "retrying after a retryable failure");
            tokio::time::sleep(pause).await;
            pause *= 2;
            attempt += 1;
        }
    }

    async fn once(
        &self,
        method: &Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<Value, CloudError> {
        let mut req = self
            .client
            .request(method.clone(), url)
            .header("X-Auth-Token", &self.token)
            .header("Accept", "application/json");
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.map_err(|e| transport(method, url, e))?;
        let status = resp.status();
        let request_id = resp
            .headers()
            .get("x-openstack-request-id")
            .or_else(|| resp.headers().get("x-compute-request-id"))
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if *method != Method::GET {
            let path = url::Url::parse(url)
                .map(|u| u.path().to_owned())
                .unwrap_or_default();
            tracing::debug!(
                %method,
                path,
                status = status.as_u16(),
                request_id = request_id.as_deref().unwrap_or("-"),
                "cloud write"
            );
        }
        let text = resp.text().await.map_err(|e| transport(method, url, e))?;
        if !status.is_success() {
            return Err(CloudError::Http {
                method: method.to_string(),
                url: url.to_owned(),
                status: status.as_u16(),
                request_id,
                message: error_message(&text),
            });
        }
        if status == StatusCode::NO_CONTENT || text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).map_err(|e| CloudError::Decode {
            what: format!("{method} {url}"),
            message: e.to_string(),
        })
    }

    pub async fn get(&self, url: &str) -> Result<Value, CloudError> {
        self.call(Method::GET, url, None).await
    }
    pub async fn post(&self, url: &str, body: &Value) -> Result<Value, CloudError> {
        self.call(Method::POST, url, Some(body)).await
    }
    pub async fn put(&self, url: &str, body: &Value) -> Result<Value, CloudError> {
        self.call(Method::PUT, url, Some(body)).await
    }
    pub async fn delete(&self, url: &str) -> Result<(), CloudError> {
        self.call(Method::DELETE, url, None).await.map(|_| ())
    }

    /// The base URL of API version `want` under the catalog URL `root`: `root` itself when it
    /// already names a version, else the self link of that version from the service's version
    /// document (the CURRENT one if `want` is not listed), else `root/want`.
    pub async fn versioned(&self, root: &str, want: &str) -> Result<String, CloudError> {
        let last = root.rsplit('/').next().unwrap_or_default();
        if last.starts_with('v') && last[1..].chars().next().is_some_and(|c| c.is_ascii_digit()) {
            return Ok(root.to_owned());
        }
        let doc = match self.get(&format!("{root}/")).await {
            Ok(d) => d,
            // Some services answer their version document with 300 Multiple Choices.
            Err(CloudError::Http {
                status: 300,
                message,
                ..
            }) => serde_json::from_str(&message).unwrap_or(Value::Null),
            Err(e) => return Err(e),
        };
        let versions = doc["versions"]
            .as_array()
            .or_else(|| doc["versions"]["values"].as_array())
            .cloned()
            .unwrap_or_default();
        let pick = versions
            .iter()
            .find(|v| v["id"] == want)
            .or_else(|| versions.iter().find(|v| v["status"] == "CURRENT"));
        let link = pick.and_then(|v| {
            v["links"].as_array()?.iter().find(|l| l["rel"] == "self")?["href"]
                .as_str()
                .map(|h| h.trim_end_matches('/').to_owned())
        });
        Ok(link
            .map(|l| rebase(root, &l))
            .unwrap_or_else(|| format!("{root}/{want}")))
    }
}

/// `link` with the scheme, host and port of `root`: behind a TLS proxy, services often
/// advertise their internal address in version documents.
fn rebase(root: &str, link: &str) -> String {
    match (url::Url::parse(root), url::Url::parse(link)) {
        (Ok(r), Ok(mut l)) => {
            let _ = l.set_scheme(r.scheme());
            let _ = l.set_host(r.host_str());
            let _ = l.set_port(r.port());
            l.as_str().trim_end_matches('/').to_owned()
        }
        _ => link.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::{error_message, rebase};

    #[test]
    fn version_links_keep_the_catalog_host() {
        assert_eq!(
            rebase("https://cloud.example:9696", "http://10.0.0.5:9696/v2.0/"),
            "https://cloud.example:9696/v2.0"
        );
        assert_eq!(
            rebase("http://127.0.0.1:9292", "http://127.0.0.1:9292/v2/"),
            "http://127.0.0.1:9292/v2"
        );
    }

    #[test]
    fn openstack_error_bodies_give_their_message() {
        assert_eq!(
            error_message(
                r#"{"NeutronError": {"type": "NetworkInUse", "message": "Unable to complete operation on network x.", "detail": ""}}"#
            ),
            "Unable to complete operation on network x."
        );
        assert_eq!(
            error_message(
                r#"{"itemNotFound": {"code": 404, "message": "Flavor m1 could not be found."}}"#
            ),
            "Flavor m1 could not be found."
        );
        assert_eq!(error_message("plain text"), "plain text");
    }
}
