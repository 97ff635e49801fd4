#!/usr/bin/env bash
# Rewrites reports/example/ (all but analysis.ipynb) from a fresh run on
# sample_data. tests/it/example.rs fails when the committed copy is stale.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cargo run --release --quiet -- run --out "$tmp" >/dev/null
period=$(ls "$tmp")
find reports/example -mindepth 1 ! -name analysis.ipynb -exec rm -rf {} +
cp -r "$tmp/$period/." reports/example/
echo "reports/example/ now holds the $period review of sample_data"
