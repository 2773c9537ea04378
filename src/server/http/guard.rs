//! Protections every HTTP exchange passes: security headers on every response, and for requests that
//! change something (any method but GET, HEAD and OPTIONS) a same-site check against cross-site
//! request forgery. Request bodies are limited by a layer in the router (`MAX_BODY_BYTES`).

use axum::extract::Request;
use axum::http::header::{CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS};
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::AppError;
use crate::protocol::ErrorCode;

/// The largest request body accepted (413 beyond): a maximal message is about 24 KB of JSON.
pub(crate) const MAX_BODY_BYTES: usize = 64 * 1024;

/// For responses that are not our pages (JSON, files): nothing may run or be framed.
const DEFAULT_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";

/// The policy for our pages: scripts only from this site or carrying this response's nonce (the
/// hydration script and the serialised data), WebAssembly compiled only from our own module, no
/// plugins, no framing, and forms and sockets only to this site.
pub(crate) fn page_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'"
    )
}

/// A page's script nonce, made by [`security_headers`] before the request is routed and handed to
/// Leptos as its `Nonce` (see `server::router`). The policy header and the nonce attributes in the
/// HTML come from this one value, so the header never depends on how the render went.
#[derive(Clone, Debug)]
pub(crate) struct PageNonce(pub std::sync::Arc<str>);

impl PageNonce {
    /// 128 random bits, hex (CSP accepts it as a base64 value). Without randomness the page gets the
    /// default policy: it stays readable, server-rendered, rather than unprotected.
    fn new() -> Self {
        Self(crate::server::identity::new_nonce().unwrap_or_default().into())
    }
}

/// Middleware: the security headers of every response. HTML gets the page policy with the nonce
/// made here, unless its handler chose a policy of its own (an export, an uploaded file); everything
/// else gets the default policy.
pub(crate) async fn security_headers(mut request: Request, next: Next) -> Response {
    let nonce = PageNonce::new();
    request.extensions_mut().insert(nonce.clone());
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    let is_page = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/html"));
    let policy = match HeaderValue::from_str(&page_policy(&nonce.0)) {
        Ok(policy) if is_page && !nonce.0.is_empty() => policy,
        _ => HeaderValue::from_static(DEFAULT_POLICY),
    };
    headers.entry(CONTENT_SECURITY_POLICY).or_insert(policy);
    response
}

/// Middleware: refuses a state-changing request that a browser sent from another site (403).
pub(crate) async fn same_site_only(request: Request, next: Next) -> Response {
    let safe = matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe && !is_same_site(request.headers()) {
        let refused = AppError::refused(ErrorCode::Forbidden, "requests from other sites are refused");
        return refused.into_response();
    }
    next.run(request).await
}

/// Browsers name the requesting site in `Origin` (on every cross-site POST) and `Sec-Fetch-Site`;
/// programs such as bots send neither and prove themselves with a token instead.
fn is_same_site(headers: &HeaderMap) -> bool {
    let fetch_site = headers.get("sec-fetch-site").and_then(|value| value.to_str().ok());
    crate::server::identity::same_origin(headers)
        && fetch_site.is_none_or(|site| matches!(site, "same-origin" | "none"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs.iter().map(|(name, value)| (name.parse().unwrap(), HeaderValue::from_static(value))).collect()
    }

    #[test]
    fn only_requests_from_our_own_pages_or_from_programs_pass() {
        let host = ("host", "chat.example");
        assert!(is_same_site(&headers(&[host])), "a bot or curl");
        assert!(is_same_site(&headers(&[host, ("origin", "https://chat.example"), ("sec-fetch-site", "same-origin")])));
        assert!(!is_same_site(&headers(&[host, ("origin", "https://evil.example")])));
        assert!(!is_same_site(&headers(&[host, ("sec-fetch-site", "cross-site")])));
        assert!(!is_same_site(&headers(&[host, ("sec-fetch-site", "same-site")])), "a sibling subdomain");
    }

    #[test]
    fn the_page_policy_allows_only_our_scripts_and_this_nonce() {
        let policy = page_policy("abc123");
        assert!(policy.contains("script-src 'self' 'nonce-abc123' 'wasm-unsafe-eval';"), "{policy}");
        assert!(policy.contains("frame-ancestors 'none'"));
        assert!(!policy.contains("unsafe-inline"));
    }
}
