//! Small helpers for self-contained HTML reports: a [`Page`] of sections, tables and SVG
//! charts ([`bar_chart`], [`dot_chart`], [`histogram`], [`line_chart`], [`heatmap`]).
//!
//! Output has no scripts and no external resources (inline CSS, inline SVG), so a report is
//! one file that opens anywhere, archives well and can be diffed. Every function that takes
//! text escapes it; functions that take `body_html` trust it.

use std::fmt::Write as _;

/// Escapes text for use in HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Formats a number for people: whole numbers without decimals, others to about 4
/// significant digits, scientific notation when very large or very small.
pub fn format_number(x: f64) -> String {
    if !x.is_finite() {
        return if x.is_nan() {
            "NaN".into()
        } else if x > 0.0 {
            "∞".into()
        } else {
            "-∞".into()
        };
    }
    let ax = x.abs();
    if x.fract() == 0.0 && ax < 1e15 {
        return format!("{}", x as i64);
    }
    if !(1e-3..1e6).contains(&ax) {
        return trim_exponent(&format!("{x:.3e}"));
    }
    let magnitude = ax.log10().floor() as i32;
    let decimals = (3 - magnitude).clamp(0, 6) as usize;
    trim_zeros(&format!("{x:.decimals$}"))
}

fn trim_zeros(s: &str) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s.to_string()
    }
}

fn trim_exponent(s: &str) -> String {
    match s.split_once('e') {
        Some((mantissa, exp)) => format!("{}e{exp}", trim_zeros(mantissa)),
        None => s.to_string(),
    }
}

const CSS: &str = r#"
:root { --ink: #1f2933; --muted: #616e7c; --line: #d9e2ec; --bg: #f5f7fa; --card: #ffffff;
        --accent: #2f6db5; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
       font: 14px/1.5 -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue",
             Arial, sans-serif; }
header { background: var(--card); border-bottom: 1px solid var(--line); padding: 20px 32px; }
header h1 { margin: 0; font-size: 22px; font-weight: 600; }
nav { margin-top: 8px; font-size: 13px; }
nav a { color: var(--accent); text-decoration: none; margin-right: 14px; white-space: nowrap; }
nav a:hover { text-decoration: underline; }
main { max-width: 1160px; margin: 0 auto; padding: 24px 32px 48px; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
          padding: 16px 20px 20px; margin-bottom: 20px;
          box-shadow: 0 1px 2px rgba(15, 23, 42, 0.04); }
section h2 { margin: 0 0 12px; font-size: 17px; font-weight: 600; }
p { margin: 0 0 10px; }
table.data { border-collapse: collapse; font-size: 13px; font-variant-numeric: tabular-nums; }
table.data th, table.data td { padding: 4px 12px 4px 0; text-align: left;
                               border-bottom: 1px solid var(--line); }
table.data th { color: var(--muted); font-weight: 600; }
table.data td.num { text-align: right; }
table.data tr:last-child td { border-bottom: none; }
.card { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
.card .stats { flex: 0 0 240px; }
.card .charts { flex: 1 1 460px; display: flex; flex-wrap: wrap; gap: 16px; }
svg.chart { max-width: 100%; height: auto; font-family: inherit; }
svg.chart text { fill: var(--ink); }
svg.chart .muted { fill: var(--muted); }
footer { text-align: center; color: var(--muted); font-size: 12px; padding-bottom: 24px; }
"#;

/// A report page: a title and sections, rendered as one self-contained HTML document.
#[derive(Debug, Clone, Default)]
pub struct Page {
    title: String,
    sections: Vec<(String, String)>,
}

impl Page {
    /// An empty page.
    pub fn new(title: &str) -> Self {
        Page {
            title: title.to_string(),
            sections: Vec::new(),
        }
    }

    /// Appends a section: `heading` is text (escaped); `body_html` is trusted HTML, usually
    /// built with this module's functions.
    pub fn section(&mut self, heading: &str, body_html: String) {
        self.sections.push((heading.to_string(), body_html));
    }

    /// Appends every section of `other`, each heading prefixed with `prefix` (one page made
    /// of several reports).
    pub fn append_page(&mut self, prefix: &str, other: Page) {
        for (heading, body) in other.sections {
            self.sections.push((format!("{prefix}{heading}"), body));
        }
    }

    /// The whole document. Pages with more than two sections get a table of contents.
    pub fn render(&self) -> String {
        let mut out =
            String::with_capacity(4096 + self.sections.iter().map(|(_, b)| b.len()).sum::<usize>());
        let title = escape(&self.title);
        let _ = write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>{title}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<header>\n\
             <h1>{title}</h1>\n"
        );
        if self.sections.len() > 2 {
            out.push_str("<nav>");
            for (i, (heading, _)) in self.sections.iter().enumerate() {
                let _ = write!(out, "<a href=\"#s{i}\">{}</a>", escape(heading));
            }
            out.push_str("</nav>\n");
        }
        out.push_str("</header>\n<main>\n");
        for (i, (heading, body)) in self.sections.iter().enumerate() {
            let _ = write!(
                out,
                "<section id=\"s{i}\">\n<h2>{}</h2>\n{body}\n</section>\n",
                escape(heading)
            );
        }
        out.push_str("</main>\n<footer>Generated by Slipway</footer>\n</body>\n</html>\n");
        out
    }
}

/// An HTML table; every cell is escaped. Cells after the first that look like numbers are
/// right-aligned (the first column labels the row).
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = String::from("<table class=\"data\">\n<thead><tr>");
    for h in headers {
        let _ = write!(out, "<th>{}</th>", escape(h));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in rows {
        out.push_str("<tr>");
        for (j, cell) in row.iter().enumerate() {
            let numeric = j > 0
                && cell
                    .trim_end_matches('%')
                    .replace(',', "")
                    .parse::<f64>()
                    .is_ok();
            let class = if numeric { " class=\"num\"" } else { "" };
            let _ = write!(out, "<td{class}>{}</td>", escape(cell));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>");
    out
}

/// Titles, axis labels and size of a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartOptions {
    /// Shown above the chart (may be empty).
    pub title: String,
    /// Under the horizontal axis.
    pub x_label: String,
    /// Beside the vertical axis.
    pub y_label: String,
    /// Width in pixels (the chart shrinks to fit narrower pages).
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// [`line_chart`] only: a dashed `y = x` line (the chance line of a ROC curve).
    pub diagonal: bool,
}

impl Default for ChartOptions {
    fn default() -> Self {
        ChartOptions {
            title: String::new(),
            x_label: String::new(),
            y_label: String::new(),
            width: 640,
            height: 360,
            diagonal: false,
        }
    }
}

/// Colours for bars and series, chosen to stay distinguishable for most colour-blind readers.
const PALETTE: [&str; 8] = [
    "#2f6db5", "#e07b39", "#3a9c6c", "#c2455b", "#7d5ba6", "#8c6d3f", "#d16aa6", "#5f6b78",
];
const GRID: &str = "#e4e9f0";
const AXIS: &str = "#9aa5b1";

/// Margins and the drawing area inside them.
struct Frame {
    width: f64,
    height: f64,
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
}

impl Frame {
    fn new(opts: &ChartOptions, left: f64, right: f64) -> Frame {
        let width = f64::from(opts.width.max(120));
        let height = f64::from(opts.height.max(80));
        let top = if opts.title.is_empty() { 12.0 } else { 32.0 };
        let bottom = if opts.x_label.is_empty() { 28.0 } else { 46.0 };
        Frame {
            width,
            height,
            left,
            right: width - right,
            top,
            bottom: (height - bottom).max(top + 10.0),
        }
    }

    fn plot_width(&self) -> f64 {
        self.right - self.left
    }

    fn plot_height(&self) -> f64 {
        self.bottom - self.top
    }
}

fn svg_open(out: &mut String, frame: &Frame, opts: &ChartOptions) {
    let _ = write!(
        out,
        "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" \
         viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{label}\" font-size=\"12\">",
        w = frame.width,
        h = frame.height,
        label = escape(&opts.title)
    );
    if !opts.title.is_empty() {
        let _ = write!(
            out,
            "<text x=\"8\" y=\"20\" font-size=\"14\" font-weight=\"600\">{}</text>",
            escape(&opts.title)
        );
    }
    if !opts.x_label.is_empty() {
        let _ = write!(
            out,
            "<text class=\"muted\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            (frame.left + frame.right) / 2.0,
            frame.height - 8.0,
            escape(&opts.x_label)
        );
    }
    if !opts.y_label.is_empty() {
        let (x, y) = (14.0, (frame.top + frame.bottom) / 2.0);
        let _ = write!(
            out,
            "<text class=\"muted\" x=\"{x}\" y=\"{y:.1}\" text-anchor=\"middle\" \
             transform=\"rotate(-90 {x} {y:.1})\">{}</text>",
            escape(&opts.y_label)
        );
    }
}

/// Round tick positions covering `[lo, hi]`, about `target` of them, and their spacing.
fn nice_ticks(lo: f64, hi: f64, target: usize) -> (Vec<f64>, f64) {
    let (lo, hi) = if hi > lo {
        (lo, hi)
    } else if lo == 0.0 {
        (0.0, 1.0)
    } else {
        (lo - lo.abs() * 0.5, hi + hi.abs() * 0.5)
    };
    let raw = (hi - lo) / target.max(1) as f64;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    let ticks = (first..=last).map(|k| k as f64 * step).collect();
    (ticks, step)
}

/// A domain rounded outward to whole ticks.
fn nice_domain(lo: f64, hi: f64) -> (f64, f64) {
    let (_, step) = nice_ticks(lo, hi, 5);
    let (a, b) = ((lo / step).floor() * step, (hi / step).ceil() * step);
    if b > a { (a, b) } else { (a - step, b + step) }
}

fn format_tick(x: f64, step: f64) -> String {
    if x.abs() >= 1e6 || (x != 0.0 && x.abs() < 1e-3) {
        return format_number(x);
    }
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    let s = format!("{x:.decimals$}");
    if s.starts_with("-") && s.trim_start_matches(['-', '0', '.']).is_empty() {
        s[1..].to_string()
    } else {
        s
    }
}

/// Horizontal bars, one per label, each with its value written after it.
pub fn bar_chart(labels: &[String], values: &[f64], opts: &ChartOptions) -> String {
    let n = labels.len().min(values.len());
    let longest = labels
        .iter()
        .take(n)
        .map(|l| l.chars().count().min(28))
        .max()
        .unwrap_or(0);
    let label_room = (longest as f64 * 6.6 + 16.0).min(f64::from(opts.width) * 0.45);
    let y_room = if opts.y_label.is_empty() { 0.0 } else { 20.0 };
    let frame = Frame::new(opts, label_room + y_room, 56.0);
    let mut out = String::new();
    svg_open(&mut out, &frame, opts);
    if n == 0 {
        return empty_chart(out, &frame);
    }
    let max = values[..n]
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    let (ticks, step) = nice_ticks(0.0, if max > 0.0 { max } else { 1.0 }, 4);
    let top_value = ticks
        .last()
        .copied()
        .unwrap_or(1.0)
        .max(max)
        .max(f64::MIN_POSITIVE);
    let scale = |v: f64| frame.left + frame.plot_width() * (v / top_value).clamp(0.0, 1.0);
    for t in &ticks {
        let x = scale(*t);
        let _ = write!(
            out,
            "<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"{GRID}\"/>\
             <text class=\"muted\" x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            frame.top,
            frame.bottom,
            frame.bottom + 16.0,
            format_tick(*t, step)
        );
    }
    let slot = frame.plot_height() / n as f64;
    let bar = (slot * 0.72).min(26.0);
    for (i, (label, &value)) in labels.iter().zip(values).take(n).enumerate() {
        let y = frame.top + slot * i as f64 + (slot - bar) / 2.0;
        let w = if value.is_finite() {
            scale(value.max(0.0)) - frame.left
        } else {
            0.0
        };
        let shown: String = if label.chars().count() > 28 {
            label.chars().take(27).chain(['…']).collect()
        } else {
            label.clone()
        };
        let _ = write!(
            out,
            "<g><title>{full}: {v}</title>\
             <text x=\"{lx:.1}\" y=\"{ty:.1}\" text-anchor=\"end\" dominant-baseline=\"middle\">{shown}</text>\
             <rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{bar:.1}\" rx=\"2\" fill=\"{c}\"/>\
             <text class=\"muted\" x=\"{vx:.1}\" y=\"{ty:.1}\" dominant-baseline=\"middle\">{v}</text></g>",
            full = escape(label),
            v = format_number(value),
            lx = frame.left - 6.0,
            ty = y + bar / 2.0,
            shown = escape(&shown),
            x = frame.left,
            c = PALETTE[0],
            vx = frame.left + w + 4.0,
        );
    }
    let _ = write!(
        out,
        "<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"{AXIS}\"/></svg>",
        frame.top,
        frame.bottom,
        x = frame.left
    );
    out
}

/// One row of a [`dot_chart`]: a named score with its spread and the values it summarizes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Dot {
    /// The row's name (a category on the chart's vertical axis), e.g. a candidate model.
    pub label: String,
    /// The score, drawn as a dot.
    pub value: f64,
    /// Drawn as a bar from `value - spread` to `value + spread` (e.g. one standard deviation).
    pub spread: Option<f64>,
    /// Individual values (e.g. per-fold scores), drawn as small ticks on the row.
    pub points: Vec<f64>,
    /// Drawn in a stronger colour and marked with a star (e.g. the selected candidate).
    pub highlight: bool,
}

/// Rows compared on one score: one row per [`Dot`] with its name on a categorical axis, a
/// dot at its value, an error bar for its spread and ticks for its individual values. The
/// value axis is fitted to the data rather than starting at zero, so that small differences
/// (a 0.02 AUC gap) stay visible, and the chart says so under the axis with its range.
pub fn dot_chart(rows: &[Dot], opts: &ChartOptions) -> String {
    let n = rows.len();
    let longest = rows
        .iter()
        .map(|r| r.label.chars().count().min(32) + usize::from(r.highlight) * 2)
        .max()
        .unwrap_or(0);
    let label_room = (longest as f64 * 6.6 + 16.0).min(f64::from(opts.width) * 0.4);
    let y_room = if opts.y_label.is_empty() { 0.0 } else { 20.0 };
    let mut sized = opts.clone();
    // A row per category: the height follows the number of rows, not the default.
    let chrome = if opts.title.is_empty() { 12 } else { 32 } + 64;
    sized.height = (n as u32).max(1) * 38 + chrome;
    let values = rows.iter().flat_map(|r| {
        let spread = r.spread.filter(|s| s.is_finite()).unwrap_or(0.0);
        [r.value - spread, r.value + spread]
            .into_iter()
            .chain(r.points.iter().copied())
    });
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite()) {
        (lo, hi) = (lo.min(v), hi.max(v));
    }
    if n == 0 || !lo.is_finite() {
        let frame = Frame::new(&sized, label_room + y_room, 120.0);
        let mut out = String::new();
        svg_open(&mut out, &frame, &sized);
        return empty_chart(out, &frame);
    }
    // A little room on both sides, then whole ticks.
    let pad = if hi > lo {
        (hi - lo) * 0.08
    } else {
        (lo.abs() * 0.01).max(1e-3)
    };
    let (x0, x1) = nice_domain(lo - pad, hi + pad);
    let (_, range_step) = nice_ticks(x0, x1, 5);
    let range = format!(
        "axis {} to {}, fitted to the values: it does not start at zero",
        format_tick(x0, range_step),
        format_tick(x1, range_step)
    );
    sized.x_label = if opts.x_label.is_empty() {
        range
    } else {
        format!("{} ({range})", opts.x_label)
    };
    let frame = Frame::new(&sized, label_room + y_room, 120.0);
    let mut out = String::new();
    svg_open(&mut out, &frame, &sized);
    let xs = |v: f64| frame.left + frame.plot_width() * ((v - x0) / (x1 - x0)).clamp(0.0, 1.0);
    let (ticks, step) = nice_ticks(x0, x1, ((frame.plot_width() / 90.0) as usize).clamp(2, 7));
    for t in ticks
        .iter()
        .filter(|t| **t >= x0 - 1e-12 && **t <= x1 + 1e-12)
    {
        let x = xs(*t);
        let _ = write!(
            out,
            "<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"{GRID}\"/>\
             <text class=\"muted\" x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            frame.top,
            frame.bottom,
            frame.bottom + 16.0,
            format_tick(*t, step)
        );
    }
    let slot = frame.plot_height() / n as f64;
    for (i, r) in rows.iter().enumerate() {
        let y = frame.top + slot * (i as f64 + 0.5);
        let color = if r.highlight { PALETTE[0] } else { PALETTE[7] };
        let label: String = if r.label.chars().count() > 32 {
            r.label.chars().take(31).chain(['…']).collect()
        } else {
            r.label.clone()
        };
        let shown = if r.highlight {
            format!("{label} ★")
        } else {
            label
        };
        let summary = match r.spread.filter(|s| s.is_finite()) {
            Some(s) => format!("{} ± {}", format_number(r.value), format_number(s)),
            None => format_number(r.value),
        };
        let _ = write!(
            out,
            "<g class=\"dot-row\"><title>{full}: {summary}</title>\
             <text x=\"{lx:.1}\" y=\"{y:.1}\" text-anchor=\"end\" dominant-baseline=\"middle\"{weight}>{shown}</text>",
            full = escape(&r.label),
            lx = frame.left - 8.0,
            weight = if r.highlight {
                " font-weight=\"600\""
            } else {
                ""
            },
            shown = escape(&shown),
        );
        for p in r.points.iter().filter(|p| p.is_finite()) {
            let _ = write!(
                out,
                "<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"{color}\" \
                 stroke-opacity=\"0.45\" stroke-width=\"1.5\"/>",
                y - 9.0,
                y + 9.0,
                x = xs(*p)
            );
        }
        if r.value.is_finite() {
            if let Some(s) = r.spread.filter(|s| s.is_finite() && *s > 0.0) {
                let (a, b) = (xs(r.value - s), xs(r.value + s));
                let _ = write!(
                    out,
                    "<path d=\"M{a:.1} {:.1}V{:.1}M{a:.1} {y:.1}H{b:.1}M{b:.1} {:.1}V{:.1}\" \
                     stroke=\"{color}\" stroke-width=\"2\" fill=\"none\"/>",
                    y - 5.0,
                    y + 5.0,
                    y - 5.0,
                    y + 5.0
                );
            }
            let _ = write!(
                out,
                "<circle cx=\"{:.1}\" cy=\"{y:.1}\" r=\"5\" fill=\"{color}\"/>",
                xs(r.value)
            );
        }
        let _ = write!(
            out,
            "<text class=\"muted\" x=\"{:.1}\" y=\"{y:.1}\" dominant-baseline=\"middle\">{}</text></g>",
            frame.right + 8.0,
            escape(&summary)
        );
    }
    let _ = write!(
        out,
        "<path d=\"M{l:.1} {t:.1}V{b:.1}H{r:.1}\" fill=\"none\" stroke=\"{AXIS}\"/></svg>",
        l = frame.left,
        t = frame.top,
        b = frame.bottom,
        r = frame.right,
    );
    out
}

fn empty_chart(mut out: String, frame: &Frame) -> String {
    let _ = write!(
        out,
        "<text class=\"muted\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">no data</text></svg>",
        (frame.left + frame.right) / 2.0,
        (frame.top + frame.bottom) / 2.0
    );
    out
}

/// Draws the horizontal and vertical axes with ticks and grid lines; returns the scales.
fn axes(
    out: &mut String,
    frame: &Frame,
    (x0, x1): (f64, f64),
    (y0, y1): (f64, f64),
) -> (impl Fn(f64) -> f64 + use<>, impl Fn(f64) -> f64 + use<>) {
    let (left, pw) = (frame.left, frame.plot_width());
    let (bottom, ph) = (frame.bottom, frame.plot_height());
    let xs = move |x: f64| left + pw * (x - x0) / (x1 - x0);
    let ys = move |y: f64| bottom - ph * (y - y0) / (y1 - y0);
    let (yticks, ystep) = nice_ticks(y0, y1, 5);
    for t in yticks
        .iter()
        .filter(|t| **t >= y0 - 1e-12 && **t <= y1 + 1e-12)
    {
        let y = ys(*t);
        let _ = write!(
            out,
            "<line x1=\"{:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"{GRID}\"/>\
             <text class=\"muted\" x=\"{:.1}\" y=\"{y:.1}\" text-anchor=\"end\" dominant-baseline=\"middle\">{}</text>",
            frame.left,
            frame.right,
            frame.left - 6.0,
            format_tick(*t, ystep)
        );
    }
    let (xticks, xstep) = nice_ticks(x0, x1, ((pw / 80.0) as usize).clamp(2, 8));
    for t in xticks
        .iter()
        .filter(|t| **t >= x0 - 1e-12 && **t <= x1 + 1e-12)
    {
        let x = xs(*t);
        let _ = write!(
            out,
            "<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"{AXIS}\"/>\
             <text class=\"muted\" x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            frame.bottom,
            frame.bottom + 4.0,
            frame.bottom + 17.0,
            format_tick(*t, xstep)
        );
    }
    let _ = write!(
        out,
        "<path d=\"M{l:.1} {t:.1}V{b:.1}H{r:.1}\" fill=\"none\" stroke=\"{AXIS}\"/>",
        l = frame.left,
        t = frame.top,
        b = frame.bottom,
        r = frame.right
    );
    (xs, ys)
}

/// Vertical bars over contiguous bins: `edges` has one more entry than `counts`.
pub fn histogram(edges: &[f64], counts: &[u64], opts: &ChartOptions) -> String {
    let y_room = if opts.y_label.is_empty() { 44.0 } else { 62.0 };
    let frame = Frame::new(opts, y_room, 16.0);
    let mut out = String::new();
    svg_open(&mut out, &frame, opts);
    let n = counts.len().min(edges.len().saturating_sub(1));
    let (lo, hi) = match (edges.first(), edges.get(n)) {
        (Some(&a), Some(&b)) if n > 0 && b > a && a.is_finite() && b.is_finite() => (a, b),
        _ => return empty_chart(out, &frame),
    };
    let max = counts[..n].iter().copied().max().unwrap_or(0).max(1) as f64;
    let (_, ymax) = nice_domain(0.0, max);
    let (xs, ys) = axes(&mut out, &frame, (lo, hi), (0.0, ymax));
    for i in 0..n {
        let (a, b) = (xs(edges[i]), xs(edges[i + 1]));
        let y = ys(counts[i] as f64);
        let closing = if i + 1 == n { "]" } else { ")" };
        let _ = write!(
            out,
            "<rect x=\"{:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\">\
             <title>[{}, {}{closing}: {}</title></rect>",
            a + 0.5,
            (b - a - 1.0).max(0.5),
            frame.bottom - y,
            PALETTE[0],
            format_number(edges[i]),
            format_number(edges[i + 1]),
            counts[i]
        );
    }
    out.push_str("</svg>");
    out
}

/// A named line of `(x, y)` points for [`line_chart`].
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Shown in the legend.
    pub name: String,
    /// Points, drawn in order.
    pub points: Vec<(f64, f64)>,
}

/// Lines over shared axes with ticks and a legend; with [`ChartOptions::diagonal`], a dashed
/// `y = x` reference line (for ROC curves). Non-finite points are skipped.
pub fn line_chart(series: &[Series], opts: &ChartOptions) -> String {
    let y_room = if opts.y_label.is_empty() { 44.0 } else { 62.0 };
    let frame = Frame::new(opts, y_room, 16.0);
    let mut out = String::new();
    svg_open(&mut out, &frame, opts);
    let finite = |p: &&(f64, f64)| p.0.is_finite() && p.1.is_finite();
    let points = || series.iter().flat_map(|s| s.points.iter().filter(finite));
    let Some(first) = points().next() else {
        return empty_chart(out, &frame);
    };
    let (mut x0, mut x1, mut y0, mut y1) = (first.0, first.0, first.1, first.1);
    for &(x, y) in points() {
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
    }
    if opts.diagonal {
        let (lo, hi) = (x0.min(y0), x1.max(y1));
        (x0, x1, y0, y1) = (lo, hi, lo, hi);
    }
    let (x0, x1) = nice_domain(x0, x1);
    let (y0, y1) = nice_domain(y0, y1);
    let (xs, ys) = axes(&mut out, &frame, (x0, x1), (y0, y1));
    if opts.diagonal {
        let (lo, hi) = (x0.max(y0), x1.min(y1));
        let _ = write!(
            out,
            "<line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"{AXIS}\" \
             stroke-dasharray=\"5 4\"/>",
            xs(lo),
            ys(lo),
            xs(hi),
            ys(hi)
        );
    }
    for (i, s) in series.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let mut d = String::new();
        for (j, &(x, y)) in s.points.iter().filter(finite).enumerate() {
            let _ = write!(
                d,
                "{}{:.1} {:.1}",
                if j == 0 { "M" } else { "L" },
                xs(x),
                ys(y)
            );
        }
        let _ = write!(
            out,
            "<path d=\"{d}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" \
             stroke-linejoin=\"round\"><title>{}</title></path>",
            escape(&s.name)
        );
    }
    // Legend in the lower-right corner, where ROC and PR curves leave room.
    let named: Vec<(usize, &Series)> = series
        .iter()
        .enumerate()
        .filter(|(_, s)| !s.name.is_empty())
        .collect();
    if !named.is_empty() {
        let longest = named
            .iter()
            .map(|(_, s)| s.name.chars().count())
            .max()
            .unwrap_or(0);
        let box_w = longest as f64 * 6.6 + 34.0;
        let box_h = named.len() as f64 * 18.0 + 8.0;
        let (bx, by) = (frame.right - box_w - 8.0, frame.bottom - box_h - 8.0);
        let _ = write!(
            out,
            "<rect x=\"{bx:.1}\" y=\"{by:.1}\" width=\"{box_w:.1}\" height=\"{box_h:.1}\" \
             fill=\"#ffffff\" fill-opacity=\"0.9\" stroke=\"{GRID}\" rx=\"4\"/>"
        );
        for (row, (i, s)) in named.iter().enumerate() {
            let y = by + 13.0 + row as f64 * 18.0;
            let _ = write!(
                out,
                "<line x1=\"{:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"{}\" \
                 stroke-width=\"3\"/><text x=\"{:.1}\" y=\"{y:.1}\" dominant-baseline=\"middle\">{}</text>",
                bx + 8.0,
                bx + 24.0,
                PALETTE[i % PALETTE.len()],
                bx + 30.0,
                escape(&s.name)
            );
        }
    }
    out.push_str("</svg>");
    out
}

/// A grid of coloured cells with each value written in it, such as a confusion matrix
/// (rows: actual, columns: predicted). Darker means larger relative to the largest value.
pub fn heatmap(
    row_labels: &[String],
    col_labels: &[String],
    values: &[Vec<f64>],
    opts: &ChartOptions,
) -> String {
    let longest = row_labels
        .iter()
        .map(|l| l.chars().count().min(24))
        .max()
        .unwrap_or(0);
    let y_room = if opts.y_label.is_empty() { 0.0 } else { 22.0 };
    let mut frame = Frame::new(opts, longest as f64 * 6.6 + 14.0 + y_room, 12.0);
    // Column labels go above the grid.
    frame.top += 20.0;
    let mut out = String::new();
    svg_open(&mut out, &frame, opts);
    let (rows, cols) = (row_labels.len(), col_labels.len());
    if rows == 0 || cols == 0 {
        return empty_chart(out, &frame);
    }
    let cell_w = frame.plot_width() / cols as f64;
    let cell_h = frame.plot_height() / rows as f64;
    let max = values
        .iter()
        .flatten()
        .filter(|v| v.is_finite())
        .fold(0.0f64, |m, v| m.max(v.abs()));
    for (j, label) in col_labels.iter().enumerate() {
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            frame.left + cell_w * (j as f64 + 0.5),
            frame.top - 7.0,
            escape(label)
        );
    }
    for (i, label) in row_labels.iter().enumerate() {
        let y = frame.top + cell_h * i as f64;
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" dominant-baseline=\"middle\">{}</text>",
            frame.left - 6.0,
            y + cell_h / 2.0,
            escape(label)
        );
        for j in 0..cols {
            let v = values
                .get(i)
                .and_then(|r| r.get(j))
                .copied()
                .unwrap_or(f64::NAN);
            let t = if v.is_finite() && max > 0.0 {
                v.abs() / max
            } else {
                0.0
            };
            // Interpolate from a pale to a deep blue.
            let mix = |a: f64, b: f64| (a + (b - a) * t).round() as u8;
            let fill = format!(
                "#{:02x}{:02x}{:02x}",
                mix(240.0, 31.0),
                mix(245.0, 78.0),
                mix(251.0, 140.0)
            );
            let ink = if t > 0.5 { "#ffffff" } else { "#1f2933" };
            let x = frame.left + cell_w * j as f64;
            let _ = write!(
                out,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{cell_w:.1}\" height=\"{cell_h:.1}\" \
                 fill=\"{fill}\" stroke=\"#ffffff\" stroke-width=\"2\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" dominant-baseline=\"middle\" \
                 style=\"fill:{ink}\" font-size=\"14\">{}</text>",
                x + cell_w / 2.0,
                y + cell_h / 2.0,
                if v.is_finite() {
                    format_number(v)
                } else {
                    String::new()
                }
            );
        }
    }
    out.push_str("</svg>");
    out
}

/// One row of a [`beeswarm`]: a column's SHAP values over many rows, each with the row's
/// value of the column scaled to `[0, 1]` (`None`: a category or missing, drawn gray).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SwarmRow {
    /// The column's name.
    pub label: String,
    /// `(contribution, scaled feature value)` per explained row.
    pub points: Vec<(f64, Option<f64>)>,
}

/// Blue (low) to red (high), as SHAP's summary plots colour feature values.
fn value_colour(v: Option<f64>) -> String {
    match v.filter(|v| v.is_finite()) {
        None => "#b0b7c0".into(),
        Some(v) => {
            let v = v.clamp(0.0, 1.0);
            let mix = |a: f64, b: f64| (a + (b - a) * v).round() as u8;
            format!(
                "#{:02x}{:02x}{:02x}",
                mix(47.0, 194.0),
                mix(109.0, 69.0),
                mix(181.0, 91.0)
            )
        }
    }
}

/// Height and label room of a chart with one row per category.
fn rows_frame(labels: &[&str], n: usize, opts: &ChartOptions, row_h: f64) -> Frame {
    let longest = labels
        .iter()
        .map(|l| l.chars().count().min(32))
        .max()
        .unwrap_or(0);
    let label_room = (longest as f64 * 6.6 + 16.0).min(f64::from(opts.width) * 0.4);
    let mut sized = opts.clone();
    let chrome = if opts.title.is_empty() { 12.0 } else { 32.0 } + 50.0;
    sized.height = (chrome + row_h * n.max(1) as f64) as u32;
    Frame::new(&sized, label_room, 24.0)
}

/// Ticks and grid of a horizontal value axis over `[x0, x1]`, and its scale.
fn value_axis(out: &mut String, frame: &Frame, x0: f64, x1: f64) -> impl Fn(f64) -> f64 + use<> {
    let (left, pw) = (frame.left, frame.plot_width());
    let xs = move |x: f64| left + pw * (x - x0) / (x1 - x0);
    let (ticks, step) = nice_ticks(x0, x1, ((pw / 80.0) as usize).clamp(2, 8));
    for t in ticks
        .iter()
        .filter(|t| **t >= x0 - 1e-12 && **t <= x1 + 1e-12)
    {
        let x = xs(*t);
        let _ = write!(
            out,
            "<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"{}\"/>\
             <text class=\"muted\" x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            frame.top,
            frame.bottom,
            if t.abs() < step * 1e-9 { AXIS } else { GRID },
            frame.bottom + 17.0,
            format_tick(*t, step)
        );
    }
    xs
}

/// The range of `values` widened to whole ticks, always including 0.
fn zero_domain(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((0.0f64, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    nice_domain(lo, hi)
}

/// SHAP's summary ("beeswarm") plot: a row per column, most important first, a dot per
/// explained row at its contribution, stacked where dots overlap, coloured by the row's
/// value of the column (blue low, red high, gray for categories and missing values).
pub fn beeswarm(rows: &[SwarmRow], opts: &ChartOptions) -> String {
    let row_h = 26.0;
    let labels: Vec<&str> = rows.iter().map(|r| r.label.as_str()).collect();
    let frame = rows_frame(&labels, rows.len(), opts, row_h);
    let mut out = String::new();
    svg_open(&mut out, &frame, opts);
    let all = || rows.iter().flat_map(|r| r.points.iter().map(|p| p.0));
    if all().next().is_none() {
        return empty_chart(out, &frame);
    }
    let (x0, x1) = zero_domain(all());
    let xs = value_axis(&mut out, &frame, x0, x1);
    for (i, row) in rows.iter().enumerate() {
        let y = frame.top + row_h * (i as f64 + 0.5);
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{y:.1}\" text-anchor=\"end\" dominant-baseline=\"middle\">{}</text>",
            frame.left - 6.0,
            escape(&truncate(&row.label, 32))
        );
        // Dots in the same 3-pixel column stack outward from the row's centre line.
        let mut stacked: std::collections::HashMap<i64, usize> = Default::default();
        for &(v, value) in &row.points {
            if !v.is_finite() {
                continue;
            }
            let x = xs(v);
            let k = stacked.entry((x / 3.0).round() as i64).or_insert(0);
            let offset = (*k).div_ceil(2) as f64 * 2.2 * if *k % 2 == 0 { 1.0 } else { -1.0 };
            *k += 1;
            if offset.abs() > row_h / 2.0 - 2.0 {
                continue;
            }
            let _ = write!(
                out,
                "<circle cx=\"{x:.1}\" cy=\"{:.1}\" r=\"1.7\" fill=\"{}\"/>",
                y + offset,
                value_colour(value)
            );
        }
    }
    let _ = write!(
        out,
        "<text class=\"muted\" x=\"{:.1}\" y=\"20\" font-size=\"11\" text-anchor=\"end\">colour: the row's value, \
         <tspan fill=\"#2f6db5\">low</tspan> → <tspan fill=\"#c2455b\">high</tspan>; gray: category or missing</text></svg>",
        frame.right
    );
    out
}

/// One row's explanation as a waterfall: from the base value, each contribution (largest
/// first) as a bar from the running total, ending at the row's score.
pub fn waterfall(base: f64, steps: &[(String, f64)], opts: &ChartOptions) -> String {
    let row_h = 22.0;
    let labels: Vec<&str> = steps.iter().map(|(l, _)| l.as_str()).collect();
    let frame = rows_frame(&labels, steps.len() + 1, opts, row_h);
    let mut out = String::new();
    svg_open(&mut out, &frame, opts);
    let mut totals = vec![base];
    for (_, v) in steps {
        totals.push(totals[totals.len() - 1] + v);
    }
    let (x0, x1) = {
        let lo = totals.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = totals.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if !(lo.is_finite() && hi.is_finite()) {
            return empty_chart(out, &frame);
        }
        nice_domain(lo, hi)
    };
    let xs = value_axis(&mut out, &frame, x0, x1);
    for (i, (label, v)) in steps.iter().enumerate() {
        let y = frame.top + row_h * i as f64;
        let (a, b) = (xs(totals[i]), xs(totals[i + 1]));
        let colour = if *v >= 0.0 { PALETTE[3] } else { PALETTE[0] };
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" dominant-baseline=\"middle\">{}</text>\
             <rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{colour}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" dominant-baseline=\"middle\">{}{}</text>",
            frame.left - 6.0,
            y + row_h / 2.0,
            escape(&truncate(label, 32)),
            a.min(b),
            y + 4.0,
            (a - b).abs().max(1.0),
            row_h - 8.0,
            a.max(b) + 4.0,
            y + row_h / 2.0,
            if *v >= 0.0 { "+" } else { "" },
            format_number(*v)
        );
    }
    let end = totals[totals.len() - 1];
    let y = frame.top + row_h * steps.len() as f64;
    let _ = write!(
        out,
        "<line x1=\"{b:.1}\" y1=\"{:.1}\" x2=\"{b:.1}\" y2=\"{:.1}\" stroke=\"{AXIS}\" stroke-dasharray=\"3 3\"/>\
         <line x1=\"{e:.1}\" y1=\"{:.1}\" x2=\"{e:.1}\" y2=\"{:.1}\" stroke=\"#000\"/>\
         <text x=\"{e:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\">f(x) = {}</text>\
         <text class=\"muted\" x=\"{b:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\">base {}</text></svg>",
        frame.top,
        frame.bottom,
        frame.top,
        y + 4.0,
        y + 14.0,
        format_number(end),
        frame.bottom + 30.0,
        format_number(base),
        b = xs(base),
        e = xs(end),
    );
    out
}

/// At most `n` characters of `s`, with an ellipsis when cut.
fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beeswarm_and_waterfall_draw_every_row_and_escape_labels() {
        let rows = vec![
            SwarmRow {
                label: "age <b>".into(),
                points: (0..50)
                    .map(|i| (f64::from(i) / 10.0 - 2.0, Some(f64::from(i) / 49.0)))
                    .collect(),
            },
            SwarmRow {
                label: "workclass".into(),
                points: vec![(0.5, None), (f64::NAN, None), (-0.25, Some(0.0))],
            },
        ];
        let svg = beeswarm(&rows, &ChartOptions::default());
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("age &lt;b&gt;") && !svg.contains("age <b>"));
        // 50 + 2 finite dots (the NaN is left out), blue for the lowest, red for the highest.
        assert_eq!(svg.matches("<circle").count(), 52);
        assert!(svg.contains("#2f6db5") && svg.contains("#c2455b") && svg.contains("#b0b7c0"));
        assert!(beeswarm(&[], &ChartOptions::default()).contains("no data"));

        let steps = vec![("age".to_string(), 0.75), ("hours".to_string(), -0.25)];
        let svg = waterfall(-1.0, &steps, &ChartOptions::default());
        assert_eq!(svg.matches("<rect").count(), 2);
        assert!(
            svg.contains("f(x) = -0.5") && svg.contains("base -1"),
            "{svg}"
        );
        assert!(svg.contains("+0.75") && svg.contains("-0.25"));
        assert!(waterfall(f64::NAN, &steps, &ChartOptions::default()).contains("no data"));
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(format_number(12.0), "12");
        assert_eq!(format_number(0.123456), "0.1235");
        assert_eq!(format_number(1234.5678), "1235");
        assert_eq!(format_number(1.5e-7), "1.5e-7");
        assert_eq!(format_number(2.5e9), "2500000000");
        assert_eq!(format_number(2.55e20), "2.55e20");
    }

    #[test]
    fn ticks_are_round() {
        let (ticks, step) = nice_ticks(0.0, 1.0, 5);
        assert_eq!(step, 0.2);
        assert_eq!(ticks.len(), 6);
        assert_eq!(format_tick(ticks[3], step), "0.6");
    }

    #[test]
    fn page_and_charts_have_no_scripts_or_links() {
        let mut page = Page::new("A <report>");
        page.section("Table", table(&["a"], &[vec!["<b>".into()]]));
        page.section(
            "Charts",
            [
                bar_chart(&["x".into()], &[3.0], &ChartOptions::default()),
                histogram(&[0.0, 1.0, 2.0], &[3, 4], &ChartOptions::default()),
                line_chart(
                    &[Series {
                        name: "roc".into(),
                        points: vec![(0.0, 0.0), (0.2, 0.8), (1.0, 1.0)],
                    }],
                    &ChartOptions {
                        diagonal: true,
                        ..ChartOptions::default()
                    },
                ),
                heatmap(
                    &["0".into(), "1".into()],
                    &["0".into(), "1".into()],
                    &[vec![50.0, 3.0], vec![4.0, 43.0]],
                    &ChartOptions::default(),
                ),
            ]
            .concat(),
        );
        let html = page.render();
        assert!(html.contains("A &lt;report&gt;"));
        assert!(html.contains("<td>&lt;b&gt;</td>"));
        assert!(html.contains("stroke-dasharray"));
        assert!(html.contains(">43</text>"));
        for banned in ["<script", "http://", "https://", "src="] {
            let outside_svg_ns = html.replace("http://www.w3.org/2000/svg", "");
            assert!(!outside_svg_ns.contains(banned), "found {banned}");
        }
    }

    #[test]
    fn dot_chart_names_rows_and_fits_the_axis_to_a_small_gap() {
        let rows = [
            Dot {
                label: "logistic".into(),
                value: 0.91,
                spread: Some(0.004),
                points: vec![0.905, 0.91, 0.915],
                highlight: false,
            },
            Dot {
                label: "gbdt <fast>".into(),
                value: 0.93,
                spread: Some(0.004),
                points: vec![0.925, 0.93, 0.935],
                highlight: true,
            },
        ];
        let svg = dot_chart(
            &rows,
            &ChartOptions {
                x_label: "roc_auc".into(),
                ..ChartOptions::default()
            },
        );
        // Categories by name on the axis, not numbers with a caption.
        assert!(svg.contains(">logistic</text>"), "{svg}");
        assert!(svg.contains(">gbdt &lt;fast&gt; ★</text>"), "{svg}");
        // The 0.02 gap spans a good part of the plot: the scale is not zero-based.
        let cx: Vec<f64> = svg
            .match_indices("<circle cx=\"")
            .map(|(i, m)| {
                let rest = &svg[i + m.len()..];
                rest[..rest.find('"').unwrap()].parse().unwrap()
            })
            .collect();
        assert_eq!(cx.len(), 2, "{svg}");
        let plot = 640.0 - 120.0 - (11.0 * 6.6 + 16.0);
        assert!(cx[1] - cx[0] > plot / 3.0, "{cx:?} in {plot}");
        assert!(svg.contains("it does not start at zero"), "{svg}");
        assert!(svg.contains("roc_auc (axis 0.9"), "{svg}");
        assert!(!svg.contains(">0</text>"), "{svg}");
        assert!(svg.contains("0.93 ± 0.004"), "{svg}");
    }

    #[test]
    fn empty_inputs_do_not_panic() {
        let o = ChartOptions::default();
        assert!(bar_chart(&[], &[], &o).contains("no data"));
        assert!(histogram(&[], &[], &o).contains("no data"));
        assert!(line_chart(&[], &o).contains("no data"));
        assert!(heatmap(&[], &[], &[], &o).contains("no data"));
        assert!(dot_chart(&[], &o).contains("no data"));
    }
}
