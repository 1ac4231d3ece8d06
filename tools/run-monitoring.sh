#!/usr/bin/env bash
# tools/run-monitoring.sh: Prometheus and Alertmanager from the shipped configuration (prometheus/, alertmanager/),
# natively, for an API started on this host with `dotnet run --project src/Api`. No Docker: it uses the Debian or Ubuntu
# packages ./test.sh installs (prometheus, prometheus-alertmanager). Ctrl+C stops what it started.
#
# Settings (environment): API_TARGET (default localhost:3000), METRICS_API_KEY (when the app has Metrics:ApiKey),
# PROMETHEUS_PORT (9090), ALERTMANAGER_PORT (9093), SMTP_SMARTHOST (localhost:1025, where alert emails go),
# ENVIRONMENT (production: the alerts' environment label), MONITORING_DATA (a temporary folder, deleted on exit; set it to keep the data between runs).
set -euo pipefail
cd "$(dirname "$0")/.."

API_TARGET=${API_TARGET:-localhost:3000}
PROMETHEUS_PORT=${PROMETHEUS_PORT:-9090}
ALERTMANAGER_PORT=${ALERTMANAGER_PORT:-9093}
SMTP_SMARTHOST=${SMTP_SMARTHOST:-localhost:1025}
export ENVIRONMENT=${ENVIRONMENT:-production}

for binary in prometheus prometheus-alertmanager; do
  command -v "$binary" > /dev/null || {
    echo "run-monitoring: '$binary' not found; install it with: sudo apt-get install -y --no-install-recommends prometheus prometheus-alertmanager" >&2
    exit 1
  }
done

if [[ -n ${MONITORING_DATA:-} ]]; then
  work=$MONITORING_DATA
  mkdir -p "$work"
else
  work=$(mktemp -d)
fi
pids=()
stop() {
  for pid in "${pids[@]}"; do kill "$pid" 2> /dev/null || true; done
  wait 2> /dev/null || true
  [[ -n ${MONITORING_DATA:-} ]] || rm -rf "$work"
}
trap stop EXIT
trap 'exit 130' INT TERM

# The shipped files, with only what compose gives them changed: the target files (one API on the host, this
# Alertmanager, no exporters), the scrape key's file and Alertmanager's SMTP server.
mkdir -p "$work/config" "$work/targets"
cp prometheus/*.yml "$work/config/"
sed -i -e "s#/etc/prometheus-targets/#$work/targets/#g" -e "s#'localhost:9090'#'localhost:$PROMETHEUS_PORT'#" -e "s#/prometheus/metrics_api_key#$work/metrics_api_key#g" \
  "$work/config/prometheus.yml"
printf '%s' "${METRICS_API_KEY:-none}" > "$work/metrics_api_key"
for job in prometheus/targets/compose/*.yml; do printf '[]\n' > "$work/targets/$(basename "$job")"; done
printf -- "- targets: ['%s']\n" "$API_TARGET" > "$work/targets/api.yml"
printf -- "- targets: ['localhost:%s']\n" "$ALERTMANAGER_PORT" > "$work/targets/alertmanager.yml"
sed -e "s#smtp_smarthost: .*#smtp_smarthost: '$SMTP_SMARTHOST'#" alertmanager/alertmanager.yml > "$work/alertmanager.yml"

prometheus --config.file="$work/config/prometheus.yml" --storage.tsdb.path="$work/prometheus-data" \
  --web.listen-address="localhost:$PROMETHEUS_PORT" --web.enable-lifecycle \
  --enable-feature=extra-scrape-metrics --enable-feature=exemplar-storage --enable-feature=expand-external-labels > "$work/prometheus.log" 2>&1 &
pids+=($!)
# --cluster.listen-address= : one Alertmanager, no cluster port on 0.0.0.0:9094.
prometheus-alertmanager --config.file="$work/alertmanager.yml" --storage.path="$work/alertmanager-data" \
  --web.listen-address="localhost:$ALERTMANAGER_PORT" --cluster.listen-address= > "$work/alertmanager.log" 2>&1 &
pids+=($!)

cat << EOF
Prometheus:   http://localhost:$PROMETHEUS_PORT  (targets: /targets, alerts: /alerts; exemplar storage on)
Alertmanager: http://localhost:$ALERTMANAGER_PORT  (alert emails to $SMTP_SMARTHOST)
Scraping the API at $API_TARGET. Logs in $work/*.log. Ctrl+C stops both.
EOF
wait -n "${pids[@]}" || true
echo "run-monitoring: a server exited; its log:" >&2
tail -n 20 "$work"/*.log >&2
exit 1
