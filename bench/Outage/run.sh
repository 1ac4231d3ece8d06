#!/usr/bin/env bash
# Outage benchmark: GET /metrics and GET /health/ready latency of three identical apps (Release build, SQLite, Redis job
# storage and backplane) whose Redis is up, killed (kill -9) and hung (kill -STOP), side by side in one run.
# Usage: bench/Outage/run.sh [rounds, default 100]. Loopback only; about 2 minutes. Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-100}
for tool in redis-server python3 curl; do
  command -v "$tool" > /dev/null || { echo "needs $tool (apt-get install -y --no-install-recommends redis-server python3 curl)" >&2; exit 1; }
done

source bench/lib/lib.sh
REDIS_PIDS=()

dotnet build -c Release src/Api --nologo -v q > "$TMP/build.log" 2>&1 || { cat "$TMP/build.log" >&2; exit 1; }

APPS=()
for name in up killed hung; do
  redis_port=$(free_port) app_port=$(free_port)
  mkdir -p "$TMP/$name"
  redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no --dir "$TMP/$name" > "$TMP/$name/redis.log" 2>&1 &
  REDIS_PIDS+=($!) PIDS+=($!)
  (cd src/Api/bin/Release/net10.0 && exec dotnet Api.dll --urls "http://127.0.0.1:$app_port" \
    --ConnectionStrings:Sqlite="Data Source=$TMP/$name/app.db" --ConnectionStrings:Redis="127.0.0.1:$redis_port,abortConnect=false" \
    --Email:PickupDirectory="$TMP/$name/mail" --Logging:LogLevel:Default=Error) > "$TMP/$name/app.log" 2>&1 &
  PIDS+=($!)
  APPS+=("$name=http://127.0.0.1:$app_port")
done

for app in "${APPS[@]}"; do
  url=${app#*=}
  for _ in $(seq 1 300); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' "$url/health/ready") == 200 ]] && break
    sleep 0.2
  done
  [[ $(curl -s -o /dev/null -w '%{http_code}' "$url/health/ready") == 200 ]] || { echo "${app%%=*} did not get ready:" >&2; tail -n 20 "$TMP/${app%%=*}/app.log" >&2; exit 1; }
  curl -sf -o /dev/null "$url/metrics"
done

kill -9 "${REDIS_PIDS[1]}"; wait "${REDIS_PIDS[1]}" 2> /dev/null || true
# Reaped: its pid may be reused by now, so the clean-up must not signal it.
for i in "${!PIDS[@]}"; do [[ ${PIDS[i]} == "${REDIS_PIDS[1]}" ]] && unset 'PIDS[i]'; done
kill -STOP "${REDIS_PIDS[2]}"
# Let the first refresh after the fault time out and the connections notice, as in an outage under way.
sleep 5
echo "$ROUNDS rounds; queue_storage_up at the start: $(for app in "${APPS[@]}"; do
  printf '%s=%s ' "${app%%=*}" "$(curl -s "${app#*=}/metrics" | awk '/^queue_storage_up/ {print $2}')"; done)"
echo
python3 bench/Outage/scrape.py "$ROUNDS" "${APPS[@]}"
