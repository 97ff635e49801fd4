"""Builds src/charts/geo/world.bin, the map underlay the visit-plan charts
draw: coastlines, country borders, state/province borders where Natural
Earth has them at 1:50m (United States, Canada, Australia, Brazil), and
the names of populated places and of first-level divisions (prefectures,
states) at their label points. Every input is Natural Earth (public
domain), see SOURCES.md. Run from the repository root:

    python3 src/charts/geo/build.py DIR

where DIR holds land-10m.json and countries-10m.json (the npm package
world-atlas@2.0.2) and the Natural Earth GeoJSON files
ne_50m_admin_1_states_provinces_lines.json,
ne_10m_populated_places_simple.json and ne_10m_admin_1_label_points.json.

Format (little endian; varints are LEB128, signed ones zigzag):
  b"SRGEO1", then records until the end:
  kind u8: 0 coastline, 1 country border, 2 state border: varint n, then n
    points: the first as signed varints (lon, lat) in 1/1000 degree, the
    rest as signed varint deltas from the point before;
  kind 3 city, 4 division label: signed varint lon, lat (1/1000 degree),
    u8 rank (0 = most important), varint length, UTF-8 name.
"""
import json
import os
import sys

Q = 1000  # 1/1000 degree, about 100 m
# Douglas-Peucker tolerance in degrees: about 500 m up to 60 degrees north
# or south, where nearly every sales territory is; coarser beyond
EPS = 0.005
EPS_POLAR = 0.03
POLAR = 60.0
# populated places up to this Natural Earth scalerank (of 0..10)
MAX_CITY_RANK = 8


def simplified(pts):
    """pts simplified, more coarsely where they lie beyond POLAR."""
    out, run, polar = [], [pts[0]], abs(pts[0][1]) > POLAR
    for p in pts[1:]:
        run.append(p)
        if (abs(p[1]) > POLAR) != polar:
            out.extend(simplify(run, EPS_POLAR if polar else EPS)[:-1])
            run, polar = [p], not polar
    out.extend(simplify(run, EPS_POLAR if polar else EPS))
    return out


def topo_arcs(topo):
    sx, sy = topo["transform"]["scale"]
    tx, ty = topo["transform"]["translate"]
    out = []
    for arc in topo["arcs"]:
        x = y = 0
        pts = []
        for dx, dy in arc:
            x += dx
            y += dy
            pts.append((x * sx + tx, y * sy + ty))
        out.append(pts)
    return out


def arc_refs(geometry):
    """Arc indices (non-negative) a TopoJSON geometry uses."""
    t = geometry["type"]
    arcs = geometry.get("arcs", [])
    if t == "Polygon":
        rings = arcs
    elif t == "MultiPolygon":
        rings = [r for poly in arcs for r in poly]
    elif t == "LineString":
        rings = [arcs]
    elif t == "MultiLineString":
        rings = arcs
    else:
        rings = []
    return {i if i >= 0 else ~i for ring in rings for i in ring}


def simplify(pts, eps):
    if len(pts) < 3:
        return pts
    keep = [False] * len(pts)
    keep[0] = keep[-1] = True
    stack = [(0, len(pts) - 1)]
    while stack:
        a, b = stack.pop()
        (x1, y1), (x2, y2) = pts[a], pts[b]
        dx, dy = x2 - x1, y2 - y1
        norm = (dx * dx + dy * dy) ** 0.5
        best, at = 0.0, -1
        for i in range(a + 1, b):
            px, py = pts[i]
            if norm == 0:
                d = ((px - x1) ** 2 + (py - y1) ** 2) ** 0.5
            else:
                d = abs(dy * px - dx * py + x2 * y1 - y2 * x1) / norm
            if d > best:
                best, at = d, i
        if best > eps:
            keep[at] = True
            stack.append((a, at))
            stack.append((at, b))
    return [p for p, k in zip(pts, keep) if k]


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def svarint(n):
    return varint((n << 1) ^ (n >> 63) if n < 0 else n << 1)


def line_record(kind, pts):
    q = []
    for lon, lat in pts:
        p = (round(lon * Q), round(lat * Q))
        if not q or p != q[-1]:
            q.append(p)
    if len(q) < 2:
        return b""
    out = bytearray([kind]) + varint(len(q))
    px = py = 0
    for x, y in q:
        out += svarint(x - px) + svarint(y - py)
        px, py = x, y
    return bytes(out)


def label_record(kind, lon, lat, rank, name):
    raw = name.encode("utf-8")
    return bytes([kind]) + svarint(round(lon * Q)) + svarint(round(lat * Q)) + bytes([rank]) + varint(len(raw)) + raw


def main(src):
    out = bytearray(b"SRGEO1")
    land = json.load(open(os.path.join(src, "land-10m.json")))
    for arc in topo_arcs(land):
        out += line_record(0, simplified(arc))
    countries = json.load(open(os.path.join(src, "countries-10m.json")))
    arcs = topo_arcs(countries)
    used = {}
    for g in countries["objects"]["countries"]["geometries"]:
        for i in arc_refs(g):
            used[i] = used.get(i, 0) + 1
    for i, n in sorted(used.items()):
        if n >= 2:
            out += line_record(1, simplified(arcs[i]))
    states = json.load(open(os.path.join(src, "ne_50m_admin_1_states_provinces_lines.json")))
    for f in states["features"]:
        g = f["geometry"]
        lines = [g["coordinates"]] if g["type"] == "LineString" else g["coordinates"]
        for line in lines:
            out += line_record(2, simplified([tuple(p) for p in line]))
    places = json.load(open(os.path.join(src, "ne_10m_populated_places_simple.json")))
    for f in sorted(places["features"], key=lambda f: (f["properties"]["scalerank"], -(f["properties"]["pop_max"] or 0), f["properties"]["name"])):
        p = f["properties"]
        if p["scalerank"] > MAX_CITY_RANK:
            continue
        out += label_record(3, p["longitude"], p["latitude"], min(int(p["scalerank"]), 255), p["name"])
    labels = json.load(open(os.path.join(src, "ne_10m_admin_1_label_points.json")))
    # one label point per part of a division (Tokyo's mainland and its islands),
    # leaving out points within half a degree of one kept for the same division
    kept = {}
    for f in sorted(labels["features"], key=lambda f: (f["properties"]["scalerank"], f["properties"]["admin"] or "", f["properties"]["name"] or "", f["properties"]["OBJECTID_1"])):
        p = f["properties"]
        if not p["name"]:
            continue
        lon, lat = f["geometry"]["coordinates"]
        near = kept.setdefault((p["admin"], p["name"]), [])
        if any(abs(lon - x) < 0.5 and abs(lat - y) < 0.5 for x, y in near):
            continue
        near.append((lon, lat))
        out += label_record(4, lon, lat, min(int(p["scalerank"]), 255), p["name"])
    target = os.path.join(os.path.dirname(os.path.abspath(__file__)), "world.bin")
    with open(target, "wb") as fh:
        fh.write(out)
    print(f"{target}: {len(out)} bytes")


if __name__ == "__main__":
    main(sys.argv[1])
