#!/usr/bin/env bash
# Measures what one pod needs, for the requests and limits in deploy/kubernetes/base/deployment.yaml: the published
# app as the dev overlay runs it (SQLite, in-memory jobs, mail to the pickup folder), idle and then under a bounded
# load (loopback, 16 keep-alive connections for 30 s alternating the list and get endpoints; wrk when installed,
# otherwise the same with Node's http client). Prints the resident memory
# idle and at its peak (VmHWM), and the CPU the app used per second of load (in cores).
#   tools/kubernetes/measure-resources.sh [PUBLISHED_APP_DIR]   (default: publishes src/Api to a temporary folder)
# wrk shares the machine's cores with the app, so the CPU figure is what the app got, not what it could use.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
app=${1:-}
if [[ -z "$app" ]]; then
  dotnet publish "$root/src/Api/Api.csproj" -c Release -o "$work/app" > /dev/null
  app=$work/app
fi
port=$(( 20000 + RANDOM % 20000 ))
(
  cd "$app"
  exec env ASPNETCORE_ENVIRONMENT=Production Urls="http://127.0.0.1:$port" RateLimit__Enabled=false \
    ConnectionStrings__Sqlite="Data Source=$work/app.db" Email__PickupDirectory="$work/mail" dotnet Api.dll > "$work/app.log" 2>&1
) &
pid=$!
trap 'kill "$pid" 2> /dev/null; wait "$pid" 2> /dev/null; rm -rf "$work"' EXIT
for _ in $(seq 600); do curl -fs "http://127.0.0.1:$port/health/ready" > /dev/null && break; sleep 0.1; done
for i in $(seq 100); do
  curl -fs -o /dev/null -H 'Content-Type: application/json' -d "{\"name\":\"User $i\",\"email\":\"user$i@example.com\"}" "http://127.0.0.1:$port/api/users"
done
id=$(curl -fs "http://127.0.0.1:$port/api/users?limit=1" | grep -oE '[0-9a-f]{8}-[0-9a-f-]{27}' | head -n 1)
sleep 5
rss() { awk -v key="$1:" '$1 == key { print int($2 / 1024) }' "/proc/$pid/status"; }
cpu() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; } # utime + stime, in clock ticks
echo "idle after start-up and 100 sign-ups: RSS $(rss VmRSS) MiB"
ticks=$(getconf CLK_TCK)
before=$(cpu)
if command -v wrk > /dev/null; then
  cat > "$work/mix.lua" << LUA
local paths = { "/api/users?limit=20", "/api/users/$id" }
local n = 0
request = function() n = n + 1; return wrk.format("GET", paths[n % 2 + 1]) end
LUA
  wrk -t1 -c16 -d30s -s "$work/mix.lua" "http://127.0.0.1:$port" | grep -E 'Requests/sec|Non-2xx' || true
else
  node -e '
    const http = require("node:http");
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    const paths = ["/api/users?limit=20", "/api/users/" + process.argv[2]];
    const end = Date.now() + 30000;
    let done = 0, failed = 0;
    const one = (n) => new Promise((resolve) => {
      http.get({ host: "127.0.0.1", port: process.argv[1], path: paths[n % 2], agent }, (res) => {
        if (res.statusCode !== 200) failed++;
        res.resume(); res.on("end", resolve);
      }).on("error", () => { failed++; resolve(); });
    });
    const loop = async () => { while (Date.now() < end) { await one(done++); } };
    Promise.all(Array.from({ length: 16 }, loop)).then(() => {
      console.log(`node client: ${(done / 30).toFixed(0)} requests/s, ${failed} not 200`); agent.destroy(); });
  ' "$port" "$id"
fi
after=$(cpu)
echo "under load: CPU $(awk -v t="$((after - before))" -v hz="$ticks" 'BEGIN { printf "%.2f", t / hz / 30 }') cores; RSS $(rss VmRSS) MiB, peak $(rss VmHWM) MiB"
