"""Open every salesrelay output table with pyarrow, pandas, Polars and DuckDB.

Usage: python check_tables.py REPORT_DIR
Warnings are errors. Prints one JSON line per table with what each library
saw; exits non-zero on the first problem.
"""
import glob
import json
import os
import sys
import warnings

warnings.simplefilter("error")

import duckdb  # noqa: E402
import pandas as pd  # noqa: E402
import polars as pl  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

report = sys.argv[1]
with open(os.path.join(report, "manifest.json")) as f:
    manifest = json.load(f)
rows = {o["path"]: o["rows"] for o in manifest["outputs"]}
problems = []
for path in sorted(glob.glob(os.path.join(report, "tables", "*.parquet"))):
    rel = os.path.relpath(path, report)
    table = pq.read_table(path)
    # the descriptions live in the file's key-value metadata
    meta = pq.read_metadata(path).metadata or {}
    columns = json.loads(meta.get(b"salesrelay.columns", b"{}"))
    frame = pd.read_parquet(path)
    pframe = pl.read_parquet(path)
    con = duckdb.connect()
    dcount = con.execute(f"select count(*) from read_parquet('{path}')").fetchall()[0][0]
    ddescribe = con.execute(f"describe select * from read_parquet('{path}')").fetchall()
    dkv = dict(
        (k.decode() if isinstance(k, bytes) else k, v)
        for k, v in con.execute(f"select key, value from parquet_kv_metadata('{path}')").fetchall()
    )
    if "salesrelay.columns" not in dkv:
        problems.append(f"{rel}: duckdb sees no salesrelay.columns")
    if "salesrelay.columns" not in pl.read_parquet_metadata(path):
        problems.append(f"{rel}: polars sees no salesrelay.columns")
    counts = {"manifest": rows.get(rel), "pyarrow": table.num_rows, "pandas": len(frame), "polars": pframe.height, "duckdb": dcount}
    if len(set(counts.values())) != 1:
        problems.append(f"{rel}: row counts differ {counts}")
    missing = [c for c in table.column_names if c not in columns]
    if missing:
        problems.append(f"{rel}: no description for {missing}")
    if meta.get(b"salesrelay.schema_version") != b"1":
        problems.append(f"{rel}: schema version {meta.get(b'salesrelay.schema_version')}")
    pandas_types = {c: str(t) for c, t in frame.dtypes.items()}
    for field in table.schema:
        t = str(field.type)
        if t.startswith("timestamp") and "tz=UTC" not in t:
            problems.append(f"{rel}.{field.name}: timestamp without UTC ({t})")
        if t.startswith("timestamp") and pandas_types[field.name] != "datetime64[us, UTC]":
            problems.append(f"{rel}.{field.name}: pandas reads {pandas_types[field.name]}")
        if "string" in t and pandas_types[field.name] not in ("object", "str", "string"):
            problems.append(f"{rel}.{field.name}: pandas reads text as {pandas_types[field.name]}")
    duck_types = {name: typ for name, typ, *_ in ddescribe}
    for field in table.schema:
        if str(field.type) == "double" and duck_types[field.name] != "DOUBLE":
            problems.append(f"{rel}.{field.name}: duckdb reads {duck_types[field.name]}")
    print(json.dumps({"table": rel, "rows": counts["pyarrow"], "pandas": pandas_types, "duckdb": duck_types}, sort_keys=True))
if problems:
    print("\n".join(problems), file=sys.stderr)
    sys.exit(1)
print(f"checked {len(glob.glob(os.path.join(report, 'tables', '*.parquet')))} tables with pyarrow, pandas, polars and duckdb")
