use crate::run::DriftReport;

/// The drift report as a self-contained HTML page.
pub fn render_html(report: &DriftReport) -> String {
    format!("{report:?}")
}
