#!/usr/bin/env bash
# CLI scaling: time `meshwarden check` over generated manifests of growing size.
# Usage: bench/cli_scale.sh [N ...]   (default: 1000 10000); MW overrides the command.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
MW=${MW:-"$here/.venv/bin/meshwarden"}
gen="$here/../shared/bench/gen_manifests.py"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for n in "${@:-1000 10000}"; do
  for count in $n; do
    python3 "$gen" "$count" "$tmp/m$count.yaml" >/dev/null
    start=$(date +%s.%N)
    $MW check --format json --fail-on never "$tmp/m$count.yaml" >"$tmp/out$count.json"
    end=$(date +%s.%N)
    python3 - "$tmp/out$count.json" "$count" "$start" "$end" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
seconds = float(sys.argv[4]) - float(sys.argv[3])
s = report["summary"]
print(f"{sys.argv[2]:>6} objects: {seconds:6.2f} s wall, {s['deny']} deny, {s['warn']} warn, "
      f"{len(report['errors'])} input errors")
PY
  done
done
