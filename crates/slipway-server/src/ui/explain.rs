//! `GET /ui/run-explanations/{run_id}`: the pictures of why a run's model predicts what it
//! does — the SHAP ranking (mean |SHAP|), summary (beeswarm) and example waterfall, and the
//! fairness-by-group sections — as a page of their own, for the run and model version pages
//! to frame.
//!
//! The sections are taken from the run's `report.html` artifact, as `slipway train`
//! rendered them with `slipway_data::html` (so the pictures are the report's own SVGs,
//! never redrawn here), and put on a page of their own with the report's style. The page is
//! served as the HTML artifact view serves an artifact: under
//! [`super::ARTIFACT_HTML_POLICY`] (a sandbox with an opaque origin and no script), since a
//! run's artifacts are whatever its client uploaded. A run without those sections (or
//! without a report) is a 404, and the pages then show nothing.

use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use slipway_data::html::Page;

use crate::AppState;
use crate::error::{ApiError, ApiResult};

/// The report's sections shown: its SHAP explanation and every fairness section.
fn wanted(heading: &str) -> bool {
    heading == "Explanations (SHAP)" || heading.starts_with("Fairness")
}

/// Most bytes of a report read for its sections.
const MAX_REPORT_BYTES: usize = 32 * 1024 * 1024;

/// The `(heading, body)` of every section of a report rendered by
/// [`slipway_data::html::Page`] whose heading [`wanted`] takes; headings are unescaped
/// for the new page (which escapes them again).
pub(crate) fn report_sections(html: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find("<section id=\"s") {
        rest = &rest[at..];
        let Some(end) = rest.find("\n</section>\n") else {
            break;
        };
        let section = &rest[..end];
        rest = &rest[end + 1..];
        let Some(h_start) = section.find("<h2>") else {
            continue;
        };
        let Some(h_len) = section[h_start + 4..].find("</h2>") else {
            continue;
        };
        let heading = unescape(&section[h_start + 4..h_start + 4 + h_len]);
        if !wanted(&heading) {
            continue;
        }
        let body = section[h_start + 4 + h_len + 5..].trim().to_string();
        out.push((heading, body));
    }
    out
}

/// Undoes [`slipway_data::html::escape`].
fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

pub(crate) async fn run_explanations(
    State(s): State<Arc<AppState>>,
    raw: Result<Path<String>, PathRejection>,
) -> ApiResult<Response> {
    let Path(run_id) =
        raw.map_err(|e| ApiError::invalid(format!("invalid run id: {}", e.body_text())))?;
    if run_id.is_empty()
        || run_id.len() > 64
        || !run_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(ApiError::invalid(
            "a run id holds letters, digits and '-' only",
        ));
    }
    let run = s.meta.get_run(&run_id).await?;
    let root = s.artifacts.root_uri();
    let not_found =
        |m: &str| ApiError::Store(slipway_store::Error::NotFound(format!("run {run_id} {m}")));
    let Ok(dir) = slipway_store::uri::artifact_path_in_root(&run.info.artifact_uri, &root) else {
        return Err(not_found("keeps its artifacts outside this server's store"));
    };
    let path = dir
        .join("report.html")
        .map_err(|_| not_found("has no report.html"))?;
    let bytes = match s.artifacts.get(&path).await {
        Ok(b) => b,
        Err(slipway_store::Error::NotFound(_)) => return Err(not_found("has no report.html")),
        Err(e) => return Err(e.into()),
    };
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(MAX_REPORT_BYTES)]);
    let sections = report_sections(&text);
    if sections.is_empty() {
        return Err(not_found(
            "recorded no SHAP explanation and no fairness sections in its report",
        ));
    }
    let name = if run.info.run_name.is_empty() {
        run_id.clone()
    } else {
        run.info.run_name.clone()
    };
    let mut page = Page::new(&format!("Explanations: {name}"));
    for (heading, body) in sections {
        page.section(&heading, body);
    }
    let mut resp = page.render().into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(super::ARTIFACT_HTML_POLICY),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_are_taken_by_heading() {
        let mut page = Page::new("r");
        page.section("Metrics", "<p>m</p>".into());
        page.section("Explanations (SHAP)", "<svg class=\"chart\"></svg>".into());
        page.section("Fairness", "<p>intro</p>".into());
        page.section("Fairness by sex & race", "<table></table>".into());
        page.section("Data", "<p>d</p>".into());
        let got = report_sections(&page.render());
        let headings: Vec<&str> = got.iter().map(|(h, _)| h.as_str()).collect();
        assert_eq!(
            headings,
            ["Explanations (SHAP)", "Fairness", "Fairness by sex & race"]
        );
        assert_eq!(got[0].1, "<svg class=\"chart\"></svg>");
        assert_eq!(got[2].1, "<table></table>");
        assert!(report_sections("<html>no sections</html>").is_empty());
    }
}
