//! Per-day bar charts drawn on the server as inline SVG: no chart library, no JavaScript.
//! Only numbers and dates go into the markup, so it needs no escaping.

use std::fmt::Write;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 120.0;

/// A bar chart of `(day label, value)`; `format` writes a value for the bar's tooltip.
pub fn bars(points: &[(String, f64)], format: impl Fn(f64) -> String) -> String {
    let mut svg = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {WIDTH} {}\" role=\"img\" preserveAspectRatio=\"none\">",
        HEIGHT + 16.0
    );
    let max = points.iter().map(|(_, v)| *v).fold(0.0_f64, f64::max);
    if points.is_empty() || max <= 0.0 {
        let _ = write!(
            svg,
            "<text x=\"8\" y=\"{}\" class=\"chart-empty\">nothing in this range</text></svg>",
            HEIGHT / 2.0
        );
        return svg;
    }
    let slot = WIDTH / points.len() as f64;
    let bar = (slot * 0.8).max(1.0);
    for (i, (label, value)) in points.iter().enumerate() {
        let h = (value / max * HEIGHT).max(if *value > 0.0 { 1.0 } else { 0.0 });
        let x = i as f64 * slot + (slot - bar) / 2.0;
        let _ = write!(
            svg,
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{bar:.1}\" height=\"{h:.1}\"><title>{label}: {}</title></rect>",
            HEIGHT - h,
            format(*value)
        );
    }
    if let (Some(first), Some(last)) = (points.first(), points.last()) {
        let _ = write!(
            svg,
            "<text x=\"0\" y=\"{y}\" class=\"chart-axis\">{}</text><text x=\"{WIDTH}\" y=\"{y}\" class=\"chart-axis\" text-anchor=\"end\">{}</text>",
            first.0,
            last.0,
            y = HEIGHT + 14.0
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    #[test]
    fn bars_scale_to_the_largest_value() {
        let svg = super::bars(&[("2026-11-24".into(), 1.0), ("2026-11-25".into(), 4.0)], |v| format!("{v}"));
        assert_eq!(svg.matches("<rect").count(), 2);
        assert!(svg.contains("height=\"120.0\""), "{svg}");
        assert!(super::bars(&[], |v| format!("{v}")).contains("nothing in this range"));
    }
}
