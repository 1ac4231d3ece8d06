#!/usr/bin/env bash
# Renders every promtool test file of prometheus/ for another app selector into OUTDIR, as render-rules.sh renders the
# rules: a test file of exporters only (no `job="api"`) has nothing to render and is copied. The one place both
# ./test.sh's rendered-rules check and tools/kubernetes/check.sh get the tests that go with rendered rules.
#   tools/rules/render-rule-tests.sh --selector 'job="orders",namespace="shop"' OUTDIR
set -euo pipefail
[[ $# -eq 3 && "$1" == "--selector" ]] || { echo "usage: $0 --selector '<matchers>' OUTDIR" >&2; exit 2; }
root=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$3"
for test in "$root"/prometheus/*.test.yml; do
  if grep -qF 'job="api"' "$test"; then
    "$root/tools/rules/render-rules.sh" --selector "$2" "$test" > "$3/$(basename "$test")"
  else
    cp "$test" "$3/"
  fi
done
