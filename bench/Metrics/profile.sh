#!/usr/bin/env bash
# What share of the API's CPU the request metrics take, read from a CPU profile instead of from two processes' totals.
# bench/run.sh --only-metrics compares an API with Metrics:HttpRequests:Enabled on against two with it off; on this
# machine two identical servers differ by up to 4 % in CPU per request (a process's JIT and memory layout), which is
# more than the metrics cost. Here perf samples one server at a time under wrk, and the share of samples in the
# metrics code (HttpMetrics, its middleware, OpenTelemetry.Metrics, System.Diagnostics.Metrics) is the cost; the same
# count on a metrics-off server is the control (it must be ~0), and the Stopwatch reads show as __vdso_clock_gettime.
# Usage: bench/Metrics/profile.sh [seconds sampled per server, default 10]. GET / and GET /api/users/{id} on SQLite,
# pinned (server core 0, wrk core 1) and not pinned; about 6 minutes. Needs perf (Debian: linux-perf) and wrk.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_SAMPLED=${1:-10} CONNECTIONS=32
for tool in wrk perf; do command -v $tool > /dev/null || { echo "needs $tool: apt-get install -y --no-install-recommends ${tool/perf/linux-perf}" >&2; exit 1; }; done
BENCH_NAME=metrics-profile
source bench/lib/lib.sh

say "building (Release)"
dotnet build -c Release src/Api --nologo -v q > "$TMP/build.log" 2>&1 || { cat "$TMP/build.log"; exit 1; }
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $(nproc) cores; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| placement | endpoint | metrics code, on | same symbols, off (control) | clock_gettime on / off | req/s on / off |"
echo "| --- | --- | ---: | ---: | ---: | ---: |"

profile() { # metrics(true|false) pinned(1|0) endpoint(root|user) -> "share clock rps"
  local port server=() client=() path=/ pid
  port=$(free_port)
  (($2)) && server=(taskset -c 0) client=(taskset -c 1)
  # The perf map names JIT-compiled methods; with W^X on, perf cannot tie their samples to it.
  (cd src/Api/bin/Release/net10.0 && RateLimit__Enabled=false DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 \
    exec "${server[@]}" dotnet Api.dll --urls "http://127.0.0.1:$port" --Metrics:HttpRequests:Enabled="$1" \
    --ConnectionStrings:Sqlite="Data Source=$TMP/$port.db" --Email:PickupDirectory="$TMP/$port-mail") > "$TMP/api-$port.log" 2>&1 &
  pid=$!
  wait_ready "api-$port" "http://127.0.0.1:$port/" "$TMP"
  if [[ $3 == user ]]; then
    path=/api/users/$(curl -sf -X POST "http://127.0.0.1:$port/api/users" -H 'Content-Type: application/json' \
      -d '{"name":"Bench","email":"bench@example.com"}' | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
  fi
  # Warm-up until the tiered JIT has recompiled the hot methods: 60 s pinned (it competes with the requests), 15 s not.
  "${client[@]}" wrk -t1 -c$CONNECTIONS -d"$((($2)) && echo 60 || echo 15)s" "http://127.0.0.1:$port$path" > /dev/null
  perf record -F 2999 -p "$pid" -o "$TMP/$port.perf" -- sleep "$SECONDS_SAMPLED" > /dev/null 2>&1 &
  local perf=$!
  local rps
  rps=$("${client[@]}" wrk -t1 -c$CONNECTIONS -d"${SECONDS_SAMPLED}s" "http://127.0.0.1:$port$path" | awk '/Requests\/sec/ {print $2}')
  wait $perf
  kill "$pid"; wait "$pid" 2> /dev/null || true
  perf report -i "$TMP/$port.perf" --no-children --sort symbol --stdio -g none 2> /dev/null | python3 -c '
import re, sys
share = clock = 0.0
for line in sys.stdin:
    m = re.match(r"\s*([\d.]+)%\s+\[.\]\s+(.*?)\s+-\s+-\s*$", line) or re.match(r"\s*([\d.]+)%\s+\[.\]\s+(.*\S)\s*$", line)
    if not m: continue
    if re.search(r"Api\.Observability\.HttpMetrics|\[OpenTelemetry\] OpenTelemetry\.Metrics\.|System\.Diagnostics\.Metrics\.", m[2]): share += float(m[1])
    if m[2].startswith("__vdso_clock_gettime"): clock += float(m[1])
print(f"{share:.2f} {clock:.2f} '"$rps"'")'
}

for pinned in 1 0; do
  for endpoint in root user; do
    read -r on_share on_clock on_rps <<< "$(profile true $pinned $endpoint)"
    read -r off_share off_clock off_rps <<< "$(profile false $pinned $endpoint)"
    label=$( ((pinned)) && echo "pinned" || echo "not pinned")
    route=$([[ $endpoint == root ]] && echo 'GET /' || echo 'GET /api/users/{id}')
    echo "| $label | \`$route\` | $on_share % | $off_share % | $on_clock % / $off_clock % | ${on_rps%.*} / ${off_rps%.*} |"
  done
done
