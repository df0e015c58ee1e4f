//! The S3 SDK's HTTP client, made of Ferry's reqwest client: S3 requests take the same
//! route as every other request (the `proxy` setting, see `net`) instead of the SDK's own
//! hyper client, which knows nothing of SOCKS or the macOS and Windows proxy settings.
//!
//! Only the hand-over lives here: requests and responses are converted, bodies are
//! streamed both ways (never buffered), and reqwest's errors become the SDK's connector
//! errors so `s3::map_sdk` tells a refused connection from a cut-off one. Timeouts are
//! the reqwest client's (connect and read), the SDK's retries stay off (Ferry's retry
//! policy decides).

use aws_sdk_s3::config::http::{HttpRequest, HttpResponse};
use aws_sdk_s3::config::{HttpClient, RuntimeComponents, SharedHttpClient};
use aws_smithy_runtime_api::client::http::{
    HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_types::body::SdkBody;

/// One reqwest client (and its connection pool) behind the SDK.
#[derive(Clone, Debug)]
struct Reqwest(reqwest::Client);

/// The SDK client for `http` (see the module doc).
pub fn client(http: reqwest::Client) -> SharedHttpClient {
    SharedHttpClient::new(Reqwest(http))
}

impl HttpClient for Reqwest {
    fn http_connector(
        &self,
        _settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

impl HttpConnector for Reqwest {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let http = self.0.clone();
        HttpConnectorFuture::new(async move {
            let request = request
                .try_into_http1x()
                .map_err(|e| ConnectorError::user(e.into()))?
                .map(reqwest::Body::wrap);
            let request =
                reqwest::Request::try_from(request).map_err(|e| ConnectorError::user(e.into()))?;
            let response = http.execute(request).await.map_err(connector_error)?;
            let response = http::Response::from(response).map(SdkBody::from_body_1_x);
            HttpResponse::try_from(response).map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}

fn connector_error(e: reqwest::Error) -> ConnectorError {
    // Without the URL: a presigned or tokened one must not reach a message.
    let (timeout, connect) = (e.is_timeout(), e.is_connect());
    let e = Box::new(e.without_url());
    if timeout {
        ConnectorError::timeout(e)
    } else if connect {
        // Not connected: `map_sdk` reports it as a refused connection.
        ConnectorError::other(e, None).never_connected()
    } else {
        ConnectorError::io(e)
    }
}
