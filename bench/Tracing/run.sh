#!/usr/bin/env bash
# What tracing costs: GET /api/users/{id} (a request and its EF Core query) with wrk over loopback, on four instances of
# the API that differ only in the standard sampler variable, all exporting traces, logs and metrics over OTLP/HTTP:
#   off, off-2   OTEL_TRACES_SAMPLER=always_off (off-2 is the A/A check: two identical servers must agree)
#   ratio-0.1    parentbased_traceidratio, OTEL_TRACES_SAMPLER_ARG=0.1 (a production setting)
#   ratio-1      parentbased_traceidratio, 1.0 (every request traced: the default when nothing is set)
# Rounds alternate the order; each variant's throughput, and its server's CPU time per request (utime + stime from
# /proc, which other processes on a busy machine disturb far less than throughput), are divided by off's in the same
# round, and the tables give the median [min–max] of those ratios. Run pinned (API on core 0, wrk and the receiver on
# core 1) and unpinned.
# The receiver: "sink" (default) answers every OTLP export with 200 and discards it, as a collector on another machine
# would cost this one nothing: the API still records, serializes and sends every span. "aspire" sends them to a real
# Aspire dashboard, whose ingestion then competes with the API for this machine's two cores (throughput then measures
# both; CPU per request still measures the API alone).
# Usage: bench/Tracing/run.sh [rounds, default 5] [seconds per run, default 6] [sink|aspire]. Loopback only; about
# 2 × rounds × 30 s.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
ROUNDS=${1:-5} DURATION=${2:-6} RECEIVER=${3:-sink} CONNECTIONS=32
command -v wrk > /dev/null || { echo "needs wrk: apt-get install -y --no-install-recommends wrk" >&2; exit 1; }

source bench/lib/lib.sh

say "building (Release) and restoring the Aspire dashboard"
dotnet build -c Release src/Api --nologo -v q > "$TMP/build.log" 2>&1 || { cat "$TMP/build.log"; exit 1; }
cat > "$TMP/sink.py" << 'PY'
import http.server, sys
class Sink(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):  # an empty protobuf message is a valid Export*ServiceResponse
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200); self.send_header("Content-Type", "application/x-protobuf"); self.send_header("Content-Length", "0"); self.end_headers()
    do_GET = do_POST
    def log_message(self, *args): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Sink).serve_forever()
PY
DASHBOARD=$(tools/restore-aspire-dashboard.sh)

echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs));" \
  "load average at start: $(cut -d' ' -f1-3 /proc/loadavg); $ROUNDS rounds × ${DURATION} s, wrk -t1 -c$CONNECTIONS; receiver: $RECEIVER"

run_mode() { # pinned|unpinned
  local server_cpu=() client_cpu=()
  if [[ $1 == pinned ]]; then server_cpu=(taskset -c 0) client_cpu=(taskset -c 1); fi
  local ui otlp
  ui=$(free_port) otlp=$(free_port)
  if [[ $RECEIVER == aspire ]]; then
    ASPNETCORE_URLS=http://127.0.0.1:$ui ASPIRE_DASHBOARD_OTLP_HTTP_ENDPOINT_URL=http://127.0.0.1:$otlp \
      ASPIRE_DASHBOARD_UNSECURED_ALLOW_ANONYMOUS=true "${client_cpu[@]}" "$DASHBOARD" > "$TMP/receiver-$1.log" 2>&1 &
  else
    ui=$otlp
    "${client_cpu[@]}" python3 "$TMP/sink.py" "$otlp" > "$TMP/receiver-$1.log" 2>&1 &
  fi
  PIDS+=($!)
  wait_ready "receiver-$1" "http://127.0.0.1:$ui/"

  local variants=() name sampler arg port id
  for spec in "off always_off 0" "off-2 always_off 0" "ratio-0.1 parentbased_traceidratio 0.1" "ratio-1 parentbased_traceidratio 1.0"; do
    read -r name sampler arg <<< "$spec"
    port=$(free_port)
    # From the build folder, so the app reads its own appsettings.json (log levels) as a deployed app does.
    (cd src/Api/bin/Release/net10.0 && OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$otlp OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf \
      OTEL_TRACES_SAMPLER=$sampler OTEL_TRACES_SAMPLER_ARG=$arg exec "${server_cpu[@]}" dotnet Api.dll --urls "http://127.0.0.1:$port" \
      --RateLimit:Enabled=false --ConnectionStrings:Sqlite="Data Source=$TMP/$1-$name.db") > "$TMP/$1-$name.log" 2>&1 &
    PIDS+=($!)
    echo $! > "$TMP/$1-$name.pid" # the server itself: exec replaces the subshell (and taskset execs dotnet)
    wait_ready "$1-$name" "http://127.0.0.1:$port/health/live"
    id=$(curl -sf -X POST "http://127.0.0.1:$port/api/users" -H 'Content-Type: application/json' \
      -d '{"name":"Bench","email":"bench@example.com"}' | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
    variants+=("$name http://127.0.0.1:$port/api/users/$id")
  done

  for variant in "${variants[@]}"; do
    read -r name url <<< "$variant"
    "${client_cpu[@]}" wrk -t1 -c"$CONNECTIONS" -d4s "$url" > /dev/null # warm-up: JIT tiers, pools
  done
  mkdir -p "$TMP/raw-$1"
  for round in $(seq 1 "$ROUNDS"); do
    local order=("${variants[@]}")
    if ((round % 2 == 0)); then mapfile -t order < <(reversed "${variants[@]}"); fi
    for variant in "${order[@]}"; do
      read -r name url <<< "$variant"
      say "$1 round $round/$ROUNDS: $name"
      local pid ticks_before
      pid=$(cat "$TMP/$1-$name.pid")
      ticks_before=$(awk '{print $14 + $15}' "/proc/$pid/stat")
      "${client_cpu[@]}" wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$url" > "$TMP/raw-$1/r$round-$name.txt"
      echo "server CPU ticks: $(($(awk '{print $14 + $15}' "/proc/$pid/stat") - ticks_before)) at $(getconf CLK_TCK)/s" >> "$TMP/raw-$1/r$round-$name.txt"
    done
  done
  for pid in "${PIDS[@]}"; do kill "$pid" 2> /dev/null || true; done
  wait 2> /dev/null || true
  PIDS=()
  python3 - "$TMP/raw-$1" "$1" << 'PY'
import re, statistics, sys
from collections import defaultdict
from pathlib import Path
rps, cpu = defaultdict(dict), defaultdict(dict)  # cpu: server CPU µs per request
for path in Path(sys.argv[1]).glob("r*-*.txt"):
    round_, name = re.fullmatch(r"r(\d+)-(.+)\.txt", path.name).groups()
    text = path.read_text()
    if re.search(r"Non-2xx or 3xx responses: (\d+)", text):
        sys.exit(f"{path.name}: non-2xx responses; the measurement is void")
    rps[name][int(round_)] = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    requests = int(re.search(r"(\d+) requests in", text).group(1))
    ticks, hz = map(int, re.search(r"server CPU ticks: (-?\d+) at (\d+)/s", text).groups())
    cpu[name][int(round_)] = ticks / hz * 1e6 / requests
def ratio(values, name):
    ratios = [values[name][r] / values["off"][r] for r in values["off"]]
    return f"{statistics.median(ratios):.3f} [{min(ratios):.3f}–{max(ratios):.3f}]"
print(f"\n{sys.argv[2]}:\n\n| variant | req/s (median) | throughput vs off | server CPU µs/request (median) | CPU per request vs off |\n| --- | ---: | --- | ---: | --- |")
for name in ["off", "off-2", "ratio-0.1", "ratio-1"]:
    print(f"| {name} | {statistics.median(rps[name].values()):,.0f} | {ratio(rps, name)} | {statistics.median(cpu[name].values()):,.1f} | {ratio(cpu, name)} |")
PY
}

run_mode pinned
run_mode unpinned
