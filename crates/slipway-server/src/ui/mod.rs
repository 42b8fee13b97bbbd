//! The web UI: static HTML, CSS and vanilla JavaScript compiled into the binary and served at
//! `/` and `/static/...`. The pages call the same REST API as every other client (tracking,
//! proxied artifacts, registry) from the browser; nothing is fetched from anywhere else.
//!
//! Every UI response carries a strict Content-Security-Policy (scripts and styles only from
//! this origin, no inline code, no framing) and `nosniff`. The script builds the DOM with
//! `textContent` and attribute setters only, so run names, params and tags are never parsed
//! as HTML.
//!
//! HTML artifacts (reports) are shown inline from `/ui/artifact-html/<path>`: the artifact's
//! bytes as `text/html` under [`ARTIFACT_HTML_POLICY`], whose `sandbox` directive gives the
//! page an opaque origin with scripts, forms and popups disabled, opened or framed alike;
//! the UI frames it in an `<iframe sandbox="">` as well. The download route keeps serving
//! every artifact as bytes (`application/octet-stream` and `nosniff` for HTML), which a
//! browser saves rather than renders.

use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRef, Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use slipway_store::ArtifactPath;

use crate::AppState;
use crate::error::{ApiError, ApiResult};

mod explain;

/// The policy sent with every UI response: only same-origin scripts, styles and requests;
/// inline SVG charts are built by the script, images may be `data:` URLs; frames only from
/// this origin (the sandboxed HTML artifact view).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
     frame-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The policy of an HTML artifact shown inline: a sandbox (opaque origin, no scripts, forms,
/// popups or top navigation), its own inline styles and `data:` images and fonts, nothing
/// fetched, and framed only by this origin's UI.
pub const ARTIFACT_HTML_POLICY: &str = "sandbox; default-src 'none'; \
     style-src 'unsafe-inline'; img-src data:; font-src data:; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'self'";

/// One embedded file: its bytes and content type.
struct Asset {
    body: &'static [u8],
    content_type: &'static str,
}

const INDEX: Asset = Asset {
    body: include_bytes!("assets/index.html"),
    content_type: "text/html; charset=utf-8",
};
const SCRIPT: Asset = Asset {
    body: include_bytes!("assets/app.js"),
    content_type: "text/javascript; charset=utf-8",
};
const STYLE: Asset = Asset {
    body: include_bytes!("assets/app.css"),
    content_type: "text/css; charset=utf-8",
};
const ICON: Asset = Asset {
    body: include_bytes!("assets/favicon.svg"),
    content_type: "image/svg+xml",
};

impl IntoResponse for &'static Asset {
    fn into_response(self) -> Response {
        let mut resp = self.body.into_response();
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(self.content_type),
        );
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        );
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        // Assets change with the binary; `no-cache` revalidates instead of serving a stale
        // script after an upgrade.
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        resp
    }
}

/// `GET /ui/artifact-html/<path>`: an `.html` / `.htm` artifact as a sandboxed page (see the
/// module docs); any other file is refused, so this route never serves script or markup
/// under another name.
async fn artifact_html(
    State(s): State<Arc<AppState>>,
    raw: Result<Path<String>, PathRejection>,
) -> ApiResult<Response> {
    let Path(raw) =
        raw.map_err(|e| ApiError::invalid(format!("invalid artifact path: {}", e.body_text())))?;
    let path = ArtifactPath::parse(&raw)?;
    let name = path.parts().last().map(String::as_str).unwrap_or("");
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    if !matches!(ext.as_deref(), Some("html" | "htm")) {
        return Err(ApiError::invalid(format!(
            "artifact {raw:?} is not an .html or .htm file; download it from \
             /api/2.0/mlflow-artifacts/artifacts/{raw}"
        )));
    }
    let bytes = s.artifacts.get(&path).await?;
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(ARTIFACT_HTML_POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::X_FRAME_OPTIONS,
        HeaderValue::from_static("SAMEORIGIN"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(resp)
}

/// The UI's routes, to merge into the API router: `/`, `/index.html`, `/static/*` and the
/// sandboxed HTML artifact view `/ui/artifact-html/*`.
pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Arc<AppState>: FromRef<S>,
{
    Router::new()
        .route("/ui/artifact-html/{*path}", get(artifact_html))
        .route(
            "/ui/run-explanations/{run_id}",
            get(explain::run_explanations),
        )
        .route("/", get(|| async { &INDEX }))
        .route("/index.html", get(|| async { &INDEX }))
        .route("/static/app.js", get(|| async { &SCRIPT }))
        .route("/static/app.css", get(|| async { &STYLE }))
        .route("/static/favicon.svg", get(|| async { &ICON }))
        .route("/favicon.ico", get(|| async { &ICON }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::{Body, to_bytes};
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    async fn state() -> (tempfile::TempDir, Arc<AppState>) {
        let home = tempfile::tempdir().expect("tempdir");
        let state = AppState::open_home(home.path(), crate::Limits::default())
            .await
            .expect("open");
        (home, Arc::new(state))
    }

    async fn fetch_from(
        state: &Arc<AppState>,
        method: &str,
        uri: &str,
    ) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::empty())
            .expect("request");
        let resp = routes()
            .with_state(state.clone())
            .oneshot(req)
            .await
            .expect("response");
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = to_bytes(resp.into_body(), usize::MAX).await.expect("body");
        (status, headers, body.to_vec())
    }

    async fn fetch(method: &str, uri: &str) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
        let (_home, state) = state().await;
        fetch_from(&state, method, uri).await
    }

    /// An HTML artifact is served as a page only under the sandboxing policy; other files
    /// are refused with a hint to the download route; a missing one is 404.
    #[tokio::test]
    async fn html_artifacts_are_served_sandboxed_and_nothing_else_is() {
        let (_home, state) = state().await;
        let page = b"<html><body><h1>report</h1><script>alert(1)</script></body></html>";
        for name in ["report.html", "notes.txt"] {
            let path = ArtifactPath::parse(&format!("1/abc/artifacts/{name}")).expect("path");
            state
                .artifacts
                .put(&path, bytes::Bytes::from_static(page))
                .await
                .expect("put");
        }
        let (status, h, body) = fetch_from(
            &state,
            "GET",
            "/ui/artifact-html/1/abc/artifacts/report.html",
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, page);
        assert_eq!(h[header::CONTENT_TYPE], "text/html; charset=utf-8");
        assert_eq!(h[header::CONTENT_SECURITY_POLICY], ARTIFACT_HTML_POLICY);
        assert!(ARTIFACT_HTML_POLICY.starts_with("sandbox;"));
        assert!(!ARTIFACT_HTML_POLICY.contains("allow-"));
        assert!(!ARTIFACT_HTML_POLICY.contains("script-src"));
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");

        let (status, _, body) =
            fetch_from(&state, "GET", "/ui/artifact-html/1/abc/artifacts/notes.txt").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let body = String::from_utf8(body).expect("utf-8");
        assert!(body.contains("not an .html or .htm file"), "{body}");
        let (status, _, _) =
            fetch_from(&state, "GET", "/ui/artifact-html/1/abc/artifacts/gone.html").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _, _) = fetch_from(&state, "GET", "/ui/artifact-html/1/../secret.html").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }

    #[tokio::test]
    async fn every_asset_has_its_content_type_and_the_security_headers() {
        let cases = [
            ("/", "text/html; charset=utf-8"),
            ("/index.html", "text/html; charset=utf-8"),
            ("/static/app.js", "text/javascript; charset=utf-8"),
            ("/static/app.css", "text/css; charset=utf-8"),
            ("/static/favicon.svg", "image/svg+xml"),
        ];
        for (uri, content_type) in cases {
            let (status, h, body) = fetch("GET", uri).await;
            assert_eq!(status, StatusCode::OK, "{uri}");
            assert_eq!(h[header::CONTENT_TYPE], content_type, "{uri}");
            assert_eq!(
                h[header::CONTENT_SECURITY_POLICY],
                CONTENT_SECURITY_POLICY,
                "{uri}"
            );
            assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{uri}");
            assert_eq!(h[header::X_FRAME_OPTIONS], "DENY", "{uri}");
            assert!(!body.is_empty(), "{uri}");
        }
    }

    #[tokio::test]
    async fn head_is_answered_and_other_methods_are_not_routes() {
        let (status, h, _) = fetch("HEAD", "/").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(h[header::CONTENT_TYPE], "text/html; charset=utf-8");
        let (status, _, _) = fetch("POST", "/").await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        let (status, _, _) = fetch("GET", "/static/missing.js").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    #[test]
    fn the_policy_allows_no_inline_code_and_no_other_origin() {
        assert!(CONTENT_SECURITY_POLICY.contains("script-src 'self';"));
        assert!(CONTENT_SECURITY_POLICY.contains("style-src 'self';"));
        assert!(!CONTENT_SECURITY_POLICY.contains("unsafe-inline"));
        assert!(!CONTENT_SECURITY_POLICY.contains("unsafe-eval"));
        assert!(!CONTENT_SECURITY_POLICY.contains("http"));
    }

    /// The page loads only what this module serves: no CDN, no inline script or style.
    #[test]
    fn the_page_references_only_local_assets() {
        let html = std::str::from_utf8(INDEX.body).expect("utf-8");
        for needle in ["/static/app.js", "/static/app.css"] {
            assert!(html.contains(needle), "index.html must load {needle}");
        }
        assert!(!html.contains("<script>"), "inline script");
        assert!(!html.contains("<style"), "inline style");
        assert!(!html.contains(" style="), "inline style attribute");
        for asset in [INDEX.body, SCRIPT.body, STYLE.body] {
            let text = std::str::from_utf8(asset).expect("utf-8");
            let external = text
                .replace("http://www.w3.org/2000/svg", "")
                .matches("http")
                .count();
            assert_eq!(external, 0, "an asset references another origin");
        }
    }

    /// User data (run names, params, tags) reaches the DOM only as text: the script never
    /// parses strings as HTML.
    #[test]
    fn the_script_never_parses_strings_as_html() {
        let js = std::str::from_utf8(SCRIPT.body).expect("utf-8");
        for sink in [
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
            "new Function",
            "setAttribute('style'",
            ".style",
        ] {
            assert!(!js.contains(sink), "app.js uses {sink}");
        }
    }
}
