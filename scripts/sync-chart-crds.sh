#!/usr/bin/env bash
# Copy the generated CRDs (crds/*.yaml, written by `ebbtide crds`) into the Helm chart, which
# cannot read files outside its own folder. Run it after `ebbtide crds`; the unit test
# tests/unit/chart/test_chart_crds.py fails while the copy differs.
#   scripts/sync-chart-crds.sh          copy
#   scripts/sync-chart-crds.sh --check  exit 1 (and list the files) if the copy is stale
set -euo pipefail
cd "$(dirname "$0")/.."

source_dir=crds
chart_dir=charts/ebbtide/files/crds

if [ "${1:-}" = "--check" ]; then
  stale=0
  for file in "$source_dir"/*.yaml; do
    cmp -s "$file" "$chart_dir/$(basename "$file")" || { echo "stale: $chart_dir/$(basename "$file")"; stale=1; }
  done
  for file in "$chart_dir"/*.yaml; do
    [ -e "$source_dir/$(basename "$file")" ] || { echo "extra: $file"; stale=1; }
  done
  exit "$stale"
fi

mkdir -p "$chart_dir"
rm -f "$chart_dir"/*.yaml
cp "$source_dir"/*.yaml "$chart_dir"/
echo "copied $(ls "$source_dir"/*.yaml | wc -l) CRD(s) from $source_dir/ to $chart_dir/"
