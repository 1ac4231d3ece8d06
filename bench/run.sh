#!/usr/bin/env bash
# bench/run.sh [--quick] [--only-metrics]: the service's speed, measured side by side in one run, printed as the tables of
# BENCHMARKS.md. --only-metrics runs part 1 alone, without the NestJS and bare Kestrel peers (the metrics-cost question).
#   1. HTTP throughput and p99 with wrk over loopback: the API with Metrics:Enabled true vs false (GET / and
#      GET /api/users/{id} on SQLite), pinned (server on core 0, wrk on core 1) and not pinned (both share the cores),
#      each beside a second, identical metrics-off server (A/A: the noise floor); the seed's NestJS stack and bare
#      Kestrel on GET /. Rounds alternate the variants; every comparison is a ratio inside a round, reported as
#      median [min–max] over the rounds. Besides throughput, each run's server CPU per request (/proc), which the
#      machine's noise disturbs far less.
#   2. A scanner storm: 2 × ≥ 100,000 random unmatched URLs; series count and memory before and after.
#   3. BenchmarkDotNet micro-benchmarks (bench/Micro): the per-request metrics cost, alone and from 2 threads at once,
#      prometheus-net's MeterAdapter for contrast, and rendering /metrics at 1,000 / 10,000 / 100,000 series.
#   4. The real path (bench/RealPath/run.sh): the users API on one PostgreSQL beside NestJS + TypeORM and raw Npgsql.
#   5. The other features' benchmarks (bench/Realtime, bench/Email, bench/Outage) when they exist.
# Installs what it needs (wrk, postgresql as Debian packages when root; the peers' node modules with npm ci).
# Full run ≈ 25 minutes on 2 quiet cores (8 rounds of 5 s; BENCH_ROUNDS / BENCH_DURATION change them); --quick ≈ 8.
# Load tests run with RateLimit__Enabled=false. Everything listens on 127.0.0.1 only.
# Output: the terminal, and bench/out/<UTC time>/ (raw wrk outputs, logs, results.md).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

QUICK=0 ONLY_METRICS=0
for arg in "$@"; do
  case $arg in
    --quick) QUICK=1 ;;
    --only-metrics) ONLY_METRICS=1 ;;
    *) echo "usage: bench/run.sh [--quick] [--only-metrics]" >&2; exit 2 ;;
  esac
done
if ((QUICK)); then ROUNDS=${BENCH_ROUNDS:-2} DURATION=3 WARMUP=2; else ROUNDS=${BENCH_ROUNDS:-8} DURATION=${BENCH_DURATION:-5} WARMUP=3; fi
CONNECTIONS=32
SCANNER_BATCH=100000

OUT=$ROOT/bench/out/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$OUT/raw"
source bench/lib.sh

# --- Tools ------------------------------------------------------------------------------------------------------------
if ! command -v wrk > /dev/null; then
  if [[ $(id -u) -eq 0 ]]; then
    say "installing wrk (Debian package)"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq > /dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk > /dev/null
  else
    say "wrk is missing; install it with: sudo apt-get install -y --no-install-recommends wrk"; exit 1
  fi
fi
for tool in dotnet node npm python3 curl; do
  command -v "$tool" > /dev/null || { say "$tool is missing"; exit 1; }
done

# Two cores: the server gets core 0, wrk gets core 1, so neither steals the other's CPU and every server (the .NET ones
# and node alike) runs on exactly one core. Without taskset or with one core, they share.
if command -v taskset > /dev/null && (($(nproc) >= 2)); then
  SERVER_CPU=(taskset -c 0) CLIENT_CPU=(taskset -c 1) PINNING="server on core 0, wrk on core 1 (taskset)"
else
  SERVER_CPU=() CLIENT_CPU=() PINNING="not pinned (taskset or a second core missing)"
fi

{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/^Mem/ {print $2}') GiB," \
    "$(. /etc/os-release && echo "$PRETTY_NAME"), .NET $(dotnet --list-runtimes | awk '/AspNetCore/ {v=$2} END {print v}')," \
    "node $(node --version), $(wrk -v 2>&1 | head -n1 | awk '{print $1, $2}')"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (anything else running on the machine shows up as noise)"
  echo "mode: $([[ $QUICK == 1 ]] && echo quick || echo full): $ROUNDS rounds × ${DURATION} s per variant after ${WARMUP} s warm-up, wrk -t1 -c$CONNECTIONS; $PINNING"
} | tee "$OUT/machine.txt" >&2

# --- Build --------------------------------------------------------------------------------------------------------------
say "building (Release)"
dotnet build bench/Micro/Api.Benchmarks.csproj -c Release -nologo -v q > "$OUT/build.log" 2>&1 || { cat "$OUT/build.log"; exit 1; }
dotnet build bench/peers/bare-kestrel/BareKestrel.csproj -c Release -nologo -v q >> "$OUT/build.log" 2>&1 || { cat "$OUT/build.log"; exit 1; }
(
  cd bench/peers/nestjs
  [[ -d node_modules ]] || npm ci --no-audit --no-fund > "$OUT/npm.log" 2>&1
  npx tsc -p tsconfig.json
) || { say "NestJS peer failed to build (see $OUT/npm.log)"; exit 1; }

# --- Servers ------------------------------------------------------------------------------------------------------------

start_api() { # name port metrics-enabled pinned(1|0)
  local cpu=(); (($4)) && cpu=("${SERVER_CPU[@]}")
  # From the build folder, so the app reads its own appsettings.json (log levels) as a deployed app does.
  (cd src/Api/bin/Release/net10.0 && RateLimit__Enabled=false exec "${cpu[@]}" dotnet Api.dll --urls "http://127.0.0.1:$2" \
    --Metrics:Enabled="$3" --ConnectionStrings:Sqlite="Data Source=$TMP/$1.db" --Email:PickupDirectory="$TMP/$1-mail") > "$OUT/$1.log" 2>&1 &
  PIDS+=($!) SERVER_PID[$1]=$!
}

say "starting the servers"
# Two identical servers with metrics off (off and offb): how far they disagree is the noise every other ratio carries.
# The u-* servers are not pinned (nor is their wrk): the cost of metrics when the server and wrk share both cores.
declare -A API_URL SERVER_PID
for spec in "api-on true 1" "api-off false 1" "api-offb false 1" "u-on true 0" "u-off false 0" "u-offb false 0"; do
  read -r name metrics pinned <<< "$spec"
  port=$(free_port); start_api "$name" "$port" "$metrics" "$pinned"; API_URL[$name]=http://127.0.0.1:$port
done
BARE_PORT=$(free_port)
(cd bench/peers/bare-kestrel/bin/Release/net10.0 && exec "${SERVER_CPU[@]}" dotnet BareKestrel.dll --urls "http://127.0.0.1:$BARE_PORT") > "$OUT/bare.log" 2>&1 &
PIDS+=($!)
NEST_PORT=$(free_port)
(cd bench/peers/nestjs && NODE_ENV=production exec "${SERVER_CPU[@]}" node dist/main.js --port="$NEST_PORT") > "$OUT/nest.log" 2>&1 &
PIDS+=($!)

API_ON=${API_URL[api-on]}
BARE=http://127.0.0.1:$BARE_PORT NEST=http://127.0.0.1:$NEST_PORT
for name in "${!API_URL[@]}"; do wait_ready "$name" "${API_URL[$name]}/" "$OUT"; done
wait_ready bare "$BARE/" "$OUT"; wait_ready nest "$NEST/" "$OUT"

create_user() { # base-url -> id
  curl -sf -X POST "$1/api/users" -H 'Content-Type: application/json' -d '{"name":"Bench","email":"bench@example.com"}' |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])'
}

# name url pinned(1: wrk on core 1, server on core 0 | 0: nobody pinned)
VARIANTS=()
((ONLY_METRICS)) || VARIANTS=("nest-root $NEST/ 1" "bare-root $BARE/ 1")
for name in api-on api-off api-offb u-on u-off u-offb; do
  pinned=1; [[ $name == u-* ]] && pinned=0
  VARIANTS+=("$name-root ${API_URL[$name]}/ $pinned" "$name-user ${API_URL[$name]}/api/users/$(create_user "${API_URL[$name]}") $pinned")
done
wrk_for() { # pinned -> the wrk command prefix
  if (($1)); then echo "${CLIENT_CPU[@]}"; fi
}

say "warming up every variant for ${WARMUP} s"
for variant in "${VARIANTS[@]}"; do
  read -r _ url pinned <<< "$variant"
  # shellcheck disable=SC2046 # the prefix is empty or "taskset -c 1"
  $(wrk_for "$pinned") wrk -t1 -c"$CONNECTIONS" -d"${WARMUP}s" "$url" > /dev/null
done

for round in $(seq 1 "$ROUNDS"); do
  # Odd rounds run the list forwards, even rounds backwards, so a slow drift of the machine favours no variant.
  order=("${VARIANTS[@]}")
  if ((round % 2 == 0)); then
    order=(); for ((i = ${#VARIANTS[@]} - 1; i >= 0; i--)); do order+=("${VARIANTS[i]}"); done
  fi
  for variant in "${order[@]}"; do
    read -r name url pinned <<< "$variant"
    say "round $round/$ROUNDS: $name"
    pid=${SERVER_PID[${name%-*}]:-}
    before=$([[ -n $pid ]] && python3 bench/lib/cputicks.py "$pid" || echo 0)
    # shellcheck disable=SC2046
    $(wrk_for "$pinned") wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$url" > "$OUT/raw/r$round-$name.txt"
    if [[ -n $pid ]]; then
      echo "server CPU us: $(($(python3 bench/lib/cputicks.py "$pid") - before))" >> "$OUT/raw/r$round-$name.txt"
    fi
  done
done

if ((ONLY_METRICS)); then
  python3 bench/lib/report.py "$OUT/raw" | tee "$OUT/results.md"
  say "saved in ${OUT#"$ROOT"/}"
  exit 0
fi

# --- Scanner storm: random unmatched URLs through the real app with metrics on ------------------------------------------
snapshot() { # label
  curl -sf "$API_ON/metrics" | python3 bench/lib/snapshot.py "$1"
}
storm() { # requests: random unmatched URLs until the app has counted this many more, at most 120 s
  local before now wrk_pid deadline=$((SECONDS + 120)) batch=0
  before=$(curl -sf "$API_ON/metrics" | python3 bench/lib/snapshot.py --unmatched)
  now=$before
  # wrk can only stop on time, and once it ended by itself before the count was reached: restart it until then.
  while ((now - before < $1 && SECONDS < deadline)); do
    batch=$((batch + 1))
    "${CLIENT_CPU[@]}" wrk -t1 -c"$CONNECTIONS" -d120s -s bench/lib/scanner.lua "$API_ON/" > "$OUT/raw/storm-$1-$STORM-$batch.txt" 2>&1 &
    wrk_pid=$!
    while kill -0 "$wrk_pid" 2> /dev/null && ((SECONDS < deadline)); do
      sleep 0.5
      now=$(curl -sf "$API_ON/metrics" | python3 bench/lib/snapshot.py --unmatched)
      ((now - before >= $1)) && break
    done
    kill "$wrk_pid" 2> /dev/null || true
    wait "$wrk_pid" 2> /dev/null || true
    now=$(curl -sf "$API_ON/metrics" | python3 bench/lib/snapshot.py --unmatched)
  done
  STORM=$((STORM + 1))
}
STORM=1

say "scanner storm: 2 × $SCANNER_BATCH random unmatched requests"
storm 10000 # warm-up: the unmatched series and the 404 path exist before the first snapshot
{
  echo "### Scanner storm: random unmatched URLs and methods, metrics on"
  echo
  echo "| after | unmatched requests counted | http_* series | /metrics KiB | working set MiB | GC heap MiB (last GC) | GC committed MiB |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
  snapshot "warm-up (10,000)"
  storm "$SCANNER_BATCH"; snapshot "+ $SCANNER_BATCH"
  storm "$SCANNER_BATCH"; snapshot "+ $SCANNER_BATCH more"
} > "$OUT/storm.md"

for pid in "${PIDS[@]}"; do kill "$pid" 2> /dev/null || true; done
wait 2> /dev/null || true
PIDS=()

# --- Micro-benchmarks ---------------------------------------------------------------------------------------------------
say "micro-benchmarks (BenchmarkDotNet)"
micro_args=(--filter '*' --artifacts "$OUT/micro")
((QUICK)) && micro_args+=(--quick)
dotnet bench/Micro/bin/Release/net10.0/Api.Benchmarks.dll "${micro_args[@]}" > "$OUT/micro.log" 2>&1 || { tail -n 40 "$OUT/micro.log"; exit 1; }
{
  echo "### Micro-benchmarks (BenchmarkDotNet, in-process)"
  echo
  grep -E '^// [0-9]+ routes|^// prometheus-net registry' "$OUT/micro.log" | sed 's|^// |- |'
  echo
  sed -n '/^| Type /,/^$/p' "$OUT/micro.log"
} > "$OUT/micro.md"

# --- The real path: the users API on PostgreSQL beside NestJS + TypeORM and raw Npgsql ----------------------------------
say "the real path on PostgreSQL (bench/RealPath/run.sh)"
realpath_args=("$OUT/realpath"); ((QUICK)) && realpath_args=(--quick "$OUT/realpath")
bench/RealPath/run.sh "${realpath_args[@]}" > "$OUT/realpath.md" 2> "$OUT/realpath.log" ||
  { tail -n 30 "$OUT/realpath.log"; say "bench/RealPath/run.sh failed (see $OUT/realpath.log)"; exit 1; }

# --- The other features' benchmarks, when they have landed --------------------------------------------------------------
: > "$OUT/features.md"
# Each feature's bench/<Feature>/run.sh prints its own table. In quick mode it gets --quick if it takes that flag, or the
# smaller arguments below (Realtime's argument is its target number of connections).
declare -A QUICK_ARGS=([Realtime]="2000" [Email]="3000" [Outage]="30")
for feature in Realtime Email Outage; do
  script=bench/$feature/run.sh
  if [[ ! -x $script ]]; then
    say "note: $script does not exist yet; skipped"
    continue
  fi
  feature_args=()
  if ((QUICK)); then
    if grep -q -- '--quick' "$script"; then feature_args=(--quick); elif [[ -n ${QUICK_ARGS[$feature]:-} ]]; then read -ra feature_args <<< "${QUICK_ARGS[$feature]}"; fi
  fi
  say "$script ${feature_args[*]}"
  { echo "### $feature ($script ${feature_args[*]})"; echo; "$script" "${feature_args[@]}"; echo; } >> "$OUT/features.md" 2> "$OUT/$feature.log" ||
    { say "$script failed (see $OUT/$feature.log)"; exit 1; }
done

# --- Report -------------------------------------------------------------------------------------------------------------
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/machine.txt"
{
  sed 's/^/    /' "$OUT/machine.txt"
  echo
  python3 bench/lib/report.py "$OUT/raw"
  echo
  echo "### The real path on PostgreSQL (bench/RealPath/run.sh, not pinned)"
  echo
  cat "$OUT/realpath.md"
  echo
  cat "$OUT/storm.md" "$OUT/micro.md" "$OUT/features.md"
} > "$OUT/results.md"
cat "$OUT/results.md"
say "saved in ${OUT#"$ROOT"/}"
