//! Who may talk to the server from a browser: the defences against cross-site requests and
//! DNS rebinding, applied to every route by [`crate::app`] (as MLflow 2.x+ and Jupyter do).
//!
//! - **Host**: the `Host` header must name one of the [`AccessPolicy`]'s host names, else
//!   403. A DNS-rebinding page reaches the server under the attacker's own name, so that name
//!   is refused. An IP-literal `Host` cannot be rebound (the attacker does not own the
//!   address), so a server bound beyond loopback accepts any IP literal by default. `/health`
//!   and `/version` answer any `Host`, for probes that send a pod IP.
//! - **Origin**: a state-changing request (not `GET`, `HEAD` or `OPTIONS`) whose `Origin` is
//!   neither the server's own (the origin of its `Host`) nor allow-listed is refused with 403,
//!   and so is one marked `Sec-Fetch-Site: cross-site` without an allow-listed `Origin`.
//!   Allow-listed origins also get CORS answers, preflights included.
//! - **Content type**: a JSON endpoint (everything under `/api/2.0/mlflow/`, `/api/2.0/slipway/` and `/api/3.0/`)
//!   takes a `POST`, `PUT` or `PATCH` (or a `DELETE` with a body) only as
//!   `Content-Type: application/json`, else 415: a page can send `text/plain` or a form
//!   without a CORS preflight, but not JSON. Artifact uploads are bytes and exempt.
//! - **NUL**: a `%00` in the path or the query string is refused with 400 naming the
//!   parameter, so no store ever sees U+0000 (PostgreSQL cannot hold it in text).
//! - Every response carries `X-Content-Type-Options: nosniff`; API JSON is `no-store`.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// Which `Host` headers the server answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowedHosts {
    /// Any host (`--allowed-hosts '*'`): no DNS-rebinding protection.
    Any,
    /// These names, plus any IP literal when `ip_literals` is set.
    List {
        /// Host patterns: `name` (any port), `name:port`, `[v6]`, `*.suffix`.
        names: Vec<String>,
        /// Whether any IP-address `Host` is accepted (it cannot be rebound).
        ip_literals: bool,
    },
}

/// The host names always allowed on a loopback server.
const LOOPBACK_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "[::1]"];

impl AllowedHosts {
    /// The default for a server bound to `bind` (as given to `--host`): the loopback names
    /// and the bound address; when that address is not loopback, any IP literal too.
    pub fn default_for(bind: &str) -> Self {
        let mut names: Vec<String> = LOOPBACK_NAMES.iter().map(|s| s.to_string()).collect();
        let bind = bind.trim();
        let ip = bind
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .ok();
        let loopback =
            bind.eq_ignore_ascii_case("localhost") || ip.is_some_and(|a| a.is_loopback());
        if !bind.is_empty() && !(ip.is_some_and(|a| a.is_unspecified())) {
            names.push(match ip {
                Some(IpAddr::V6(v6)) => format!("[{v6}]"),
                _ => bind.to_ascii_lowercase(),
            });
        }
        AllowedHosts::List {
            names,
            ip_literals: !loopback,
        }
    }

    /// Reads `--allowed-hosts`: comma-separated patterns, or `*` for any. The loopback names
    /// are always added, so local clients keep working.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let mut names: Vec<String> = LOOPBACK_NAMES.iter().map(|s| s.to_string()).collect();
        for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            if part == "*" {
                return Ok(AllowedHosts::Any);
            }
            if part.contains("://") || part.contains('/') || part.chars().any(char::is_whitespace) {
                return Err(format!(
                    "allowed host '{part}' is not a host name: give a name such as \
                     mlflow.example.com, optionally with :port, or *.example.com"
                ));
            }
            names.push(part.to_ascii_lowercase());
        }
        Ok(AllowedHosts::List {
            names,
            ip_literals: false,
        })
    }

    /// Whether a `Host` header value is allowed.
    pub fn allows(&self, host_header: &str) -> bool {
        let (names, ip_literals) = match self {
            AllowedHosts::Any => return true,
            AllowedHosts::List { names, ip_literals } => (names, *ip_literals),
        };
        let Some((host, port)) = split_host(host_header) else {
            return false;
        };
        if ip_literals
            && host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<IpAddr>()
                .is_ok()
        {
            return true;
        }
        names.iter().any(|pattern| {
            let (p_host, p_port) = match split_host(pattern) {
                Some(x) => x,
                None => return false,
            };
            let port_ok = p_port.is_none() || p_port == port;
            let host_ok = match p_host.strip_prefix("*.") {
                Some(suffix) => host
                    .strip_suffix(suffix)
                    .is_some_and(|head| head.len() > 1 && head.ends_with('.')),
                None => p_host == host,
            };
            port_ok && host_ok
        })
    }
}

/// Splits `host[:port]` (with `[v6]` literals), lower-cased, a trailing dot dropped; `None`
/// when it is not a well-formed authority.
fn split_host(raw: &str) -> Option<(String, Option<u16>)> {
    let raw = raw.trim();
    let (host, port) = if raw.starts_with('[') {
        let end = raw.find(']')?;
        let (h, rest) = raw.split_at(end + 1);
        match rest {
            "" => (h, None),
            _ => (h, Some(rest.strip_prefix(':')?.parse::<u16>().ok()?)),
        }
    } else {
        match raw.rsplit_once(':') {
            Some((h, p)) => (h, Some(p.parse::<u16>().ok()?)),
            None => (raw, None),
        }
    };
    let host = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    if host.is_empty() || host.contains(['@', '/', '\\', ' ']) {
        return None;
    }
    Some((host, port))
}

/// Which browsers' requests the server accepts: allowed hosts and cross-origin callers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessPolicy {
    /// Allowed `Host` headers.
    pub hosts: AllowedHosts,
    /// Origins (`scheme://host[:port]`) allowed to make state-changing requests and given
    /// CORS answers (`--cors-allowed-origins`).
    pub origins: Vec<String>,
}

impl Default for AccessPolicy {
    /// A loopback server: loopback host names only, no cross-origin callers.
    fn default() -> Self {
        AccessPolicy {
            hosts: AllowedHosts::default_for("127.0.0.1"),
            origins: Vec::new(),
        }
    }
}

impl AccessPolicy {
    /// Reads `--cors-allowed-origins`: comma-separated `scheme://host[:port]` origins.
    pub fn parse_origins(raw: &str) -> Result<Vec<String>, String> {
        raw.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|o| {
                normalize_origin(o).ok_or_else(|| {
                    format!(
                        "allowed origin '{o}' is not an origin: give scheme://host[:port], \
                         such as https://notebooks.example.com"
                    )
                })
            })
            .collect()
    }

    fn origin_allowed(&self, origin: &str) -> bool {
        normalize_origin(origin).is_some_and(|o| self.origins.contains(&o))
    }
}

/// `scheme://host[:port]`, lower-cased, the scheme's default port dropped; `None` for
/// anything else (a path, `null`, a user part).
fn normalize_origin(raw: &str) -> Option<String> {
    let (scheme, authority) = raw.trim().split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if !matches!(scheme.as_str(), "http" | "https") {
        return None;
    }
    let (host, port) = split_host(authority)?;
    let default_port = if scheme == "https" { 443 } else { 80 };
    Some(match port {
        Some(p) if p != default_port => format!("{scheme}://{host}:{p}"),
        _ => format!("{scheme}://{host}"),
    })
}

/// Whether `origin` is the server's own: its authority is the request's `Host`.
fn same_origin(origin: &str, host_header: &str) -> bool {
    let Some(origin) = normalize_origin(origin) else {
        return false;
    };
    let Some((host, port)) = split_host(host_header) else {
        return false;
    };
    ["http", "https"].iter().any(|scheme| {
        let default_port = if *scheme == "https" { 443 } else { 80 };
        let own = match port {
            Some(p) if p != default_port => format!("{scheme}://{host}:{p}"),
            _ => format!("{scheme}://{host}"),
        };
        own == origin
    })
}

fn is_json_api(path: &str) -> bool {
    path.starts_with("/api/2.0/mlflow/")
        || path.starts_with("/api/2.0/slipway/")
        || path.starts_with("/api/3.0/")
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

/// Whether a request carries a body: announced by its headers, or known to the body itself
/// (an in-process request has no `Content-Length`).
fn has_body(req: &Request) -> bool {
    use axum::body::HttpBody;
    req.headers().contains_key(header::TRANSFER_ENCODING)
        || req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() != "0")
        || req.body().size_hint().exact() != Some(0)
}

/// The first query parameter (or the path) holding a percent-encoded NUL.
fn nul_in_uri(path: &str, query: Option<&str>) -> Option<String> {
    let has_nul = |s: &str| {
        s.as_bytes()
            .windows(3)
            .any(|w| w.eq_ignore_ascii_case(b"%00"))
    };
    if has_nul(path) {
        return Some("the request path".to_string());
    }
    let query = query?;
    query.split('&').find(|pair| has_nul(pair)).map(|pair| {
        let name = pair.split('=').next().unwrap_or_default();
        let name: String = percent_decode_lossy(name)
            .chars()
            .filter(|c| *c != '\0')
            .take(100)
            .collect();
        format!("query parameter '{name}'")
    })
}

fn percent_decode_lossy(s: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16);
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

const SAFE_METHODS: [Method; 3] = [Method::GET, Method::HEAD, Method::OPTIONS];

/// The middleware: refuses what the policy forbids, answers allowed CORS preflights, and
/// adds the security headers to every response.
pub(crate) async fn guard(
    State(policy): State<Arc<AccessPolicy>>,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path().to_string();
    let cors_origin = req
        .headers()
        .get(header::ORIGIN)
        .filter(|o| o.to_str().is_ok_and(|o| policy.origin_allowed(o)))
        .cloned();
    let mut resp = match check(&policy, &req, &path) {
        Ok(Some(preflight)) => preflight,
        Ok(None) => next.run(req).await,
        Err(e) => e.into_response(),
    };
    let h = resp.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if path.starts_with("/api/") && !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if let Some(origin) = cors_origin {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.append(header::VARY, HeaderValue::from_static("Origin"));
    }
    resp
}

/// `Ok(Some(_))`: a preflight answered here; `Ok(None)`: pass on; `Err`: refused.
fn check(policy: &AccessPolicy, req: &Request, path: &str) -> Result<Option<Response>, ApiError> {
    let headers = req.headers();
    let method = req.method();
    // A request line in absolute form (`GET http://host/...`) names its host there; HTTP/1.1
    // says that one wins over the header.
    let host = req
        .uri()
        .authority()
        .map(|a| a.as_str().to_string())
        .or_else(|| {
            headers
                .get(header::HOST)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        });
    let probe = matches!(
        path,
        "/health" | "/version" | "/ready" | "/v2/health/live" | "/v2/health/ready"
    );
    // No `Host` at all comes from an in-process caller or an HTTP/1.0 tool, never a browser.
    if let Some(host) = &host {
        if !probe && !policy.hosts.allows(host) {
            return Err(ApiError::Forbidden(format!(
                "Host '{}' is not allowed (a DNS-rebinding guard); start the server with \
                 --allowed-hosts to serve this name",
                host.chars().take(100).collect::<String>()
            )));
        }
    }
    let origin = headers
        .get(header::ORIGIN)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let allowed_origin = origin.as_deref().is_some_and(|o| policy.origin_allowed(o));
    if method == Method::OPTIONS
        && allowed_origin
        && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
    {
        return Ok(Some(preflight()));
    }
    if !SAFE_METHODS.contains(method) && !allowed_origin {
        let own = match (&origin, &host) {
            (Some(o), Some(h)) => same_origin(o, h),
            (Some(_), None) => false,
            (None, _) => true,
        };
        if !own {
            return Err(ApiError::Forbidden(format!(
                "cross-origin {method} from '{}' refused; start the server with \
                 --cors-allowed-origins to allow that origin",
                origin
                    .as_deref()
                    .unwrap_or_default()
                    .chars()
                    .take(100)
                    .collect::<String>()
            )));
        }
        let fetch_site = headers
            .get("sec-fetch-site")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if fetch_site.eq_ignore_ascii_case("cross-site") {
            return Err(ApiError::Forbidden(format!(
                "cross-site {method} refused (Sec-Fetch-Site: cross-site); start the server \
                 with --cors-allowed-origins to allow the calling origin"
            )));
        }
    }
    if is_json_api(path) {
        let needs_json = matches!(*method, Method::POST | Method::PUT | Method::PATCH)
            || (*method == Method::DELETE && has_body(req));
        if needs_json && !is_json(headers) {
            let given = headers
                .get(header::CONTENT_TYPE)
                .map(|v| {
                    String::from_utf8_lossy(v.as_bytes())
                        .chars()
                        .take(100)
                        .collect()
                })
                .unwrap_or_else(|| "none".to_string());
            return Err(ApiError::UnsupportedMediaType(format!(
                "{method} {path} takes a JSON body: send Content-Type: application/json \
                 (got {given})"
            )));
        }
    }
    if let Some(what) = nul_in_uri(path, req.uri().query()) {
        return Err(ApiError::invalid(format!(
            "{what} contains a NUL character (U+0000), which no text field may hold"
        )));
    }
    Ok(None)
}

fn preflight() -> Response {
    let mut resp = StatusCode::NO_CONTENT.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, HEAD, POST, PUT, PATCH, DELETE"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("Content-Type, Authorization"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_defaults() {
        let h = AllowedHosts::default_for("127.0.0.1");
        for ok in [
            "localhost",
            "localhost:5000",
            "127.0.0.1:5000",
            "[::1]:80",
            "LOCALHOST.",
        ] {
            assert!(h.allows(ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:5000",
            "10.0.0.1",
            "",
            "localhost:x",
        ] {
            assert!(!h.allows(bad), "{bad}");
        }
    }

    #[test]
    fn wide_binds_take_ip_literals_but_not_names() {
        let h = AllowedHosts::default_for("0.0.0.0");
        for ok in ["10.1.2.3:5000", "[fe80::1]:5000", "localhost"] {
            assert!(h.allows(ok), "{ok}");
        }
        assert!(!h.allows("rebind.attacker.example:5000"));
        let h = AllowedHosts::default_for("mlflow.internal");
        assert!(h.allows("mlflow.internal:5000"));
    }

    #[test]
    fn explicit_hosts() {
        let h = AllowedHosts::parse("mlflow.example.com, *.corp.example, api.example:8443")
            .expect("parse");
        assert!(h.allows("mlflow.example.com"));
        assert!(h.allows("mlflow.example.com:443"));
        assert!(h.allows("a.corp.example"));
        assert!(!h.allows("corp.example"));
        assert!(!h.allows("evilcorp.example"));
        assert!(h.allows("api.example:8443"));
        assert!(!h.allows("api.example:9000"));
        assert!(h.allows("localhost:5000"));
        assert!(!h.allows("10.0.0.1"));
        assert_eq!(AllowedHosts::parse("a, *").expect("any"), AllowedHosts::Any);
        assert!(AllowedHosts::parse("http://x").is_err());
    }

    #[test]
    fn origins() {
        assert!(same_origin("http://localhost:5000", "localhost:5000"));
        assert!(same_origin("https://m.example", "m.example:443"));
        assert!(!same_origin("http://localhost:3000", "localhost:5000"));
        assert!(!same_origin("null", "localhost:5000"));
        let o = AccessPolicy::parse_origins("https://nb.example:443, http://localhost:3000")
            .expect("origins");
        assert_eq!(o, ["https://nb.example", "http://localhost:3000"]);
        assert!(AccessPolicy::parse_origins("nb.example").is_err());
    }

    #[test]
    fn nul_in_query_names_the_parameter() {
        assert_eq!(
            nul_in_uri("/x", Some("a=1&experiment_name=ab%00c")).as_deref(),
            Some("query parameter 'experiment_name'")
        );
        assert!(nul_in_uri("/x%00", None).is_some());
        assert!(nul_in_uri("/x", Some("a=%2500")).is_none());
    }
}
