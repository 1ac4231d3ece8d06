#!/usr/bin/env bash
# Regenerates the Kubernetes copies of the monitoring files (deploy/kubernetes/: ServiceMonitor, dashboard ConfigMap,
# AlertmanagerConfig, one PrometheusRule per overlay) from prometheus/, grafana/dashboards/ and alertmanager/.
#   tools/kubernetes/generate.sh           writes them (commit the result)
#   tools/kubernetes/generate.sh --check   writes nothing; fails, naming the files, when a committed one is stale
# Needs Node.js 20+ and npm (the YAML parser comes from this folder's package-lock.json) and perl (the rule renderer).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
"$here/install.sh"
exec node "$here/generate.mjs" "$@"
