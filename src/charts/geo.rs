//! The map underlay of the visit-plan charts: coastlines, country borders,
//! state and province borders (where Natural Earth draws them at 1:50m:
//! United States, Canada, Australia, Brazil), and the names of cities and
//! of first-level divisions (prefectures, states) at their label points.
//! All of it is Natural Earth (public domain), simplified and compiled in;
//! `geo/SOURCES.md` names the files and `geo/build.py` rebuilds
//! `geo/world.bin` from them (its docstring gives the format).

use std::sync::OnceLock;

/// The compiled-in map data.
const WORLD: &[u8] = include_bytes!("geo/world.bin");
/// Coordinates are stored in 1/1000 degree.
const Q: f64 = 1000.0;

/// What a line of the underlay is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    Coast,
    Country,
    State,
}

/// What a label of the underlay names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelKind {
    City,
    Division,
}

/// A polyline in degrees, (lon, lat), with its bounding box.
pub struct Line {
    pub kind: LineKind,
    pub points: Vec<(f64, f64)>,
    bbox: Bbox,
    /// The line's segments a piece at a time (segment i joins points i and
    /// i + 1): each piece's first and end segment and the bounding box of
    /// its points, so a view skips the pieces it does not reach (a
    /// coastline of thousands of points crosses a city's map in a few).
    pieces: Vec<(usize, usize, Bbox)>,
}

/// Segments a piece of a line (`Line::pieces`).
const PIECE: usize = 32;

/// The bounding box of `points` (an empty box for none).
fn bbox_of(points: &[(f64, f64)]) -> Bbox {
    points.iter().fold(Bbox { lon0: f64::MAX, lon1: f64::MIN, lat0: f64::MAX, lat1: f64::MIN }, |b, p| Bbox {
        lon0: b.lon0.min(p.0),
        lon1: b.lon1.max(p.0),
        lat0: b.lat0.min(p.1),
        lat1: b.lat1.max(p.1),
    })
}

/// `Line::pieces` of `points`.
fn pieces_of(points: &[(f64, f64)]) -> Vec<(usize, usize, Bbox)> {
    let segments = points.len().saturating_sub(1);
    (0..segments).step_by(PIECE).map(|first| {
        let end = (first + PIECE).min(segments);
        (first, end, bbox_of(&points[first..=end]))
    }).collect()
}

/// A place name at (lon, lat); rank 0 is the most important.
pub struct Label {
    pub kind: LabelKind,
    pub lon: f64,
    pub lat: f64,
    pub rank: u8,
    pub name: String,
}

/// Longitude and latitude bounds, in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bbox {
    pub lon0: f64,
    pub lon1: f64,
    pub lat0: f64,
    pub lat1: f64,
}

impl Bbox {
    fn overlaps(&self, o: &Bbox) -> bool {
        self.lon0 <= o.lon1 && o.lon0 <= self.lon1 && self.lat0 <= o.lat1 && o.lat0 <= self.lat1
    }

    pub fn contains(&self, lon: f64, lat: f64) -> bool {
        (self.lon0..=self.lon1).contains(&lon) && (self.lat0..=self.lat1).contains(&lat)
    }
}

/// The decoded underlay.
pub struct World {
    pub lines: Vec<Line>,
    /// Ordered by importance (rank, then population for cities).
    pub labels: Vec<Label>,
}

/// The underlay, decoded on first use.
pub fn world() -> &'static World {
    static W: OnceLock<World> = OnceLock::new();
    W.get_or_init(|| decode(WORLD).unwrap_or(World { lines: Vec::new(), labels: Vec::new() }))
}

fn varint(data: &[u8], at: &mut usize) -> Option<u64> {
    let (mut n, mut shift) = (0u64, 0);
    loop {
        let b = *data.get(*at)?;
        *at += 1;
        n |= u64::from(b & 0x7F) << shift;
        if b & 0x80 == 0 {
            return Some(n);
        }
        shift += 7;
        if shift > 63 {
            return None;
        }
    }
}

fn svarint(data: &[u8], at: &mut usize) -> Option<i64> {
    let n = varint(data, at)?;
    Some((n >> 1) as i64 ^ -((n & 1) as i64))
}

/// Decodes `geo/world.bin` (format in `geo/build.py`); None if malformed.
fn decode(data: &[u8]) -> Option<World> {
    let mut at = 6;
    if data.get(..6)? != b"SRGEO1" {
        return None;
    }
    let (mut lines, mut labels) = (Vec::new(), Vec::new());
    while at < data.len() {
        let kind = data[at];
        at += 1;
        match kind {
            0..=2 => {
                let n = varint(data, &mut at)? as usize;
                let (mut x, mut y) = (0i64, 0i64);
                let mut points = Vec::with_capacity(n);
                for _ in 0..n {
                    x += svarint(data, &mut at)?;
                    y += svarint(data, &mut at)?;
                    points.push((x as f64 / Q, y as f64 / Q));
                }
                let bbox = bbox_of(&points);
                let pieces = pieces_of(&points);
                let kind = [LineKind::Coast, LineKind::Country, LineKind::State][kind as usize];
                lines.push(Line { kind, points, bbox, pieces });
            }
            3 | 4 => {
                let lon = svarint(data, &mut at)? as f64 / Q;
                let lat = svarint(data, &mut at)? as f64 / Q;
                let rank = *data.get(at)?;
                at += 1;
                let len = varint(data, &mut at)? as usize;
                let name = String::from_utf8(data.get(at..at + len)?.to_vec()).ok()?;
                at += len;
                labels.push(Label { kind: if kind == 3 { LabelKind::City } else { LabelKind::Division }, lon, lat, rank, name });
            }
            _ => return None,
        }
    }
    Some(World { lines, labels })
}

/// The segment a-b clipped to `b` (Liang-Barsky), or None outside.
fn clip(p: (f64, f64), q: (f64, f64), b: &Bbox) -> Option<((f64, f64), (f64, f64))> {
    let (dx, dy) = (q.0 - p.0, q.1 - p.1);
    let (mut t0, mut t1) = (0.0f64, 1.0f64);
    for (num, den) in [(p.0 - b.lon0, -dx), (b.lon1 - p.0, dx), (p.1 - b.lat0, -dy), (b.lat1 - p.1, dy)] {
        if den == 0.0 {
            if num < 0.0 {
                return None;
            }
        } else {
            let t = num / den;
            if den < 0.0 {
                t0 = t0.max(t);
            } else {
                t1 = t1.min(t);
            }
        }
    }
    (t0 <= t1).then_some(((p.0 + t0 * dx, p.1 + t0 * dy), (p.0 + t1 * dx, p.1 + t1 * dy)))
}

/// The underlay's lines of `kind` inside `view`, clipped to it: runs of
/// points, each drawn as one path.
pub fn lines_in(view: &Bbox, kind: LineKind) -> Vec<Vec<(f64, f64)>> {
    let mut runs: Vec<Vec<(f64, f64)>> = Vec::new();
    for line in world().lines.iter().filter(|l| l.kind == kind && l.bbox.overlaps(view)) {
        let mut run: Vec<(f64, f64)> = Vec::new();
        let mut end_run = |run: &mut Vec<(f64, f64)>| {
            if run.len() > 1 {
                runs.push(std::mem::take(run));
            }
            run.clear();
        };
        for (first, end, bbox) in &line.pieces {
            // a piece's segments lie in its box: outside the view, each would clip to nothing
            if !bbox.overlaps(view) {
                end_run(&mut run);
                continue;
            }
            for w in line.points[*first..=*end].windows(2) {
                match clip(w[0], w[1], view) {
                    Some((a, b)) => {
                        if run.last() != Some(&a) {
                            end_run(&mut run);
                            run.push(a);
                        }
                        run.push(b);
                    }
                    None => end_run(&mut run),
                }
            }
        }
        end_run(&mut run);
    }
    runs
}

/// Labels of `kind` inside `view`, most important first.
pub fn labels_in(view: &Bbox, kind: LabelKind) -> impl Iterator<Item = &'static Label> + '_ {
    world().labels.iter().filter(move |l| l.kind == kind && view.contains(l.lon, l.lat))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `lines_in` as it was before the pieces: every segment of every line
    /// whose box meets the view clipped in turn.
    fn lines_in_segment_by_segment(view: &Bbox, kind: LineKind) -> Vec<Vec<(f64, f64)>> {
        let mut runs: Vec<Vec<(f64, f64)>> = Vec::new();
        for line in world().lines.iter().filter(|l| l.kind == kind && l.bbox.overlaps(view)) {
            let mut run: Vec<(f64, f64)> = Vec::new();
            for w in line.points.windows(2) {
                match clip(w[0], w[1], view) {
                    Some((a, b)) => {
                        if run.last() != Some(&a) {
                            if run.len() > 1 {
                                runs.push(std::mem::take(&mut run));
                            }
                            run = vec![a];
                        }
                        run.push(b);
                    }
                    None => {
                        if run.len() > 1 {
                            runs.push(std::mem::take(&mut run));
                        }
                        run.clear();
                    }
                }
            }
            if run.len() > 1 {
                runs.push(run);
            }
        }
        runs
    }

    /// Skipping the pieces a view does not reach draws the same runs, point
    /// for point, as clipping every segment: views of 0.05 to 40 degrees
    /// across the whole map, every kind of line, and the pieces cover each
    /// line's segments once, in order.
    #[test]
    fn the_pieces_a_view_skips_change_no_run() {
        for line in &world().lines {
            let covered: Vec<usize> = line.pieces.iter().flat_map(|(first, end, _)| *first..*end).collect();
            assert_eq!(covered, (0..line.points.len().saturating_sub(1)).collect::<Vec<_>>());
        }
        let mut views = 0;
        for size in [0.05, 0.3, 2.0, 9.0, 40.0] {
            let mut lat = -80.0;
            while lat < 80.0 {
                let mut lon = -180.0;
                while lon < 180.0 {
                    let view = Bbox { lon0: lon, lon1: lon + size, lat0: lat, lat1: lat + size };
                    for kind in [LineKind::Coast, LineKind::Country, LineKind::State] {
                        assert_eq!(lines_in(&view, kind), lines_in_segment_by_segment(&view, kind), "{view:?} {kind:?}");
                    }
                    views += 1;
                    lon += size.max(7.3) + 0.137;
                }
                lat += size.max(5.1) + 0.091;
            }
        }
        assert!(views > 500, "{views} views");
        // Tokyo Bay and the Kanto plain at a city map's scale
        let tokyo = Bbox { lon0: 139.6, lon1: 139.9, lat0: 35.5, lat1: 35.8 };
        assert!(!lines_in(&tokyo, LineKind::Coast).is_empty());
        assert_eq!(lines_in(&tokyo, LineKind::Coast), lines_in_segment_by_segment(&tokyo, LineKind::Coast));
    }
}
