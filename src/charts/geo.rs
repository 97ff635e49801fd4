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
                let bbox = points.iter().fold(Bbox { lon0: f64::MAX, lon1: f64::MIN, lat0: f64::MAX, lat1: f64::MIN }, |b, p| Bbox {
                    lon0: b.lon0.min(p.0),
                    lon1: b.lon1.max(p.0),
                    lat0: b.lat0.min(p.1),
                    lat1: b.lat1.max(p.1),
                });
                let kind = [LineKind::Coast, LineKind::Country, LineKind::State][kind as usize];
                lines.push(Line { kind, points, bbox });
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

/// Labels of `kind` inside `view`, most important first.
pub fn labels_in(view: &Bbox, kind: LabelKind) -> impl Iterator<Item = &'static Label> + '_ {
    world().labels.iter().filter(move |l| l.kind == kind && view.contains(l.lon, l.lat))
}
