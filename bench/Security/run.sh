#!/usr/bin/env bash
# Memory under oversized bodies (issue 10): the API's resident memory before, at its peak, and 20 s after 64 parallel
# POST /api/users each padded to 28 MB with an unknown field, sent whole (no Expect: 100-continue), once with the
# body limit (Api:MaxRequestBodyBytes, default 64 KiB) and once with it raised past the body (the behaviour before).
# Loopback only, bounded (64 requests per variant). Usage: bench/Security/run.sh [parallel, default 64] [MB, default 28]
set -euo pipefail
cd "$(dirname "$0")/../.."
PARALLEL=${1:-64}
MB=${2:-28}
dotnet build -c Release src/Api --nologo -v q > /dev/null
source bench/lib/lib.sh

{ printf '{"name":"Padded","email":"padded@example.com","pad":"'; head -c $((MB * 1024 * 1024)) /dev/zero | tr '\0' x; printf '"}'; } > "$TMP/body.json"
rss_mb() { awk -v k="$2" '$1 == k":" {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }

echo "| body limit | answers | RSS before | peak RSS | RSS 20 s after |"
echo "| --- | --- | --- | --- | --- |"
for limit in 65536 $(((MB + 8) * 1024 * 1024)); do
  port=$(free_port)
  (cd src/Api/bin/Release/net10.0 && RateLimit__Enabled=false Api__MaxRequestBodyBytes=$limit exec dotnet Api.dll \
    --urls "http://127.0.0.1:$port" --ConnectionStrings:Sqlite="Data Source=$TMP/$limit.db") > "$TMP/$limit.log" 2>&1 &
  PID=$! PIDS=("$PID")
  wait_ready "$limit" "http://127.0.0.1:$port/health/live"
  curl -sf -X POST "http://127.0.0.1:$port/api/users" -H 'Content-Type: application/json' -d '{"name":"Warm","email":"warm@example.com"}' > /dev/null
  sleep 2
  before=$(rss_mb "$PID" VmRSS)
  for _ in $(seq 1 "$PARALLEL"); do
    curl -s -o /dev/null -w '%{http_code}\n' -H 'Expect:' -H 'Content-Type: application/json' --data-binary @"$TMP/body.json" \
      "http://127.0.0.1:$port/api/users" >> "$TMP/$limit.codes" 2> /dev/null &
  done
  wait $(jobs -p | grep -v "^$PID$") 2> /dev/null || true
  peak=$(rss_mb "$PID" VmHWM)
  sleep 20
  after=$(rss_mb "$PID" VmRSS)
  answers=$(sort "$TMP/$limit.codes" | uniq -c | awk '{printf "%s%s×%s", sep, $1, $2; sep=", "}')
  echo "| $limit B | $answers | $before MB | $peak MB | $after MB |"
  kill "$PID"; wait "$PID" 2> /dev/null || true; PIDS=()
done
