//! Colours, fonts and number formats shared by every chart.

use plotters::prelude::*;

/// DejaVu Sans (see DejaVuSans-LICENSE.txt beside it), compiled in for PNG text.
pub const FONT: &[u8] = include_bytes!("DejaVuSans.ttf");
/// The family every chart's text uses.
pub const FAMILY: &str = "sans-serif";

pub const IS: RGBColor = RGBColor(31, 119, 180);
pub const FS: RGBColor = RGBColor(255, 127, 14);
pub const UP: RGBColor = RGBColor(44, 160, 44);
pub const DOWN: RGBColor = RGBColor(214, 39, 40);
pub const FLAT: RGBColor = RGBColor(127, 127, 127);
pub const INK: RGBColor = RGBColor(40, 40, 40);
pub const GRID: RGBColor = RGBColor(225, 225, 225);
pub const BENCH: RGBColor = RGBColor(20, 20, 20);

/// Loss categories, always in these colours.
pub fn category_colour(category: &str) -> RGBColor {
    match category {
        "customer" => RGBColor(148, 103, 189),
        "competitor" => RGBColor(214, 39, 40),
        "self" => RGBColor(255, 127, 14),
        "timing" => RGBColor(23, 190, 207),
        _ => RGBColor(160, 160, 160),
    }
}

/// Funnel stages, always in these colours.
pub const STAGE_COLOURS: [RGBColor; 5] =
    [RGBColor(158, 202, 225), RGBColor(107, 174, 214), RGBColor(49, 130, 189), RGBColor(8, 81, 156), RGBColor(44, 160, 44)];

/// A text style of `size` pixels in the chart font.
pub fn text(size: u32) -> TextStyle<'static> {
    (FAMILY, size).into_font().color(&INK)
}

/// Title style.
pub fn title(size: u32) -> TextStyle<'static> {
    (FAMILY, size, FontStyle::Bold).into_font().color(&INK)
}

/// 1234567.8 -> "1,234,568".
pub fn thousands(x: f64) -> String {
    crate::summary::whole(x)
}

/// Money in the compact form of the summary (12.4M).
pub fn money(x: f64) -> String {
    crate::summary::money(x)
}

/// A ratio as a percentage.
pub fn pct(x: f64) -> String {
    format!("{:.0}%", 100.0 * x)
}

/// Colour for a change.
pub fn direction(change: Option<f64>) -> RGBColor {
    match change {
        Some(c) if c > 0.0 => UP,
        Some(c) if c < 0.0 => DOWN,
        _ => FLAT,
    }
}
