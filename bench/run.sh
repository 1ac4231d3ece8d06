#!/usr/bin/env bash
# bench/run.sh [--quick] [--only-metrics | --only-growth]: the service's speed, measured side by side in one run, printed as
# the tables of BENCHMARKS.md. --only-metrics runs part 1 alone, without the NestJS and bare Kestrel peers (the
# metrics-cost question); --only-growth runs bench/Growth/run.sh alone (cost at 10,000 and 1,000,000 users, ≈ 6 min).
#   1. HTTP throughput and p99 with wrk over loopback: the API with Metrics:HttpRequests:Enabled true vs false (GET / and
#      GET /api/users/{id} on SQLite), pinned (server on core 0, wrk on core 1) and not pinned (both share the cores),
#      each beside a second, identical metrics-off server (A/A: the noise floor); the seed's NestJS stack and bare
#      Kestrel on GET /. Every server is warmed up first (90 s when pinned: see Part 1). Each round runs the servers
#      a ratio compares back to back; every comparison is a ratio inside a round, reported as median [interquartile
#      range] over the rounds. Besides throughput, each run's server CPU per request (/proc).
#   2. A scanner storm: 2 × ≥ 100,000 random unmatched URLs; series count and memory before and after.
#   3. BenchmarkDotNet micro-benchmarks (bench/Micro): the per-request metrics cost, alone and from 2 threads at once,
#      prometheus-net's MeterAdapter for contrast, and rendering /metrics at 1,000 / 10,000 / 100,000 series.
#   4. The real path (bench/RealPath/run.sh): the users API on one PostgreSQL beside NestJS + TypeORM and raw Npgsql.
#   5. The other features' benchmarks (bench/Realtime, bench/Email, bench/Queue: the email path beside NestJS + Bull,
#      bench/Outage, bench/Growth: the users API at 10,000 and 1,000,000 users) when they exist.
# Installs what it needs (wrk, postgresql as Debian packages when root; the peers' node modules with npm ci).
# Full run ≈ 35 minutes on 2 quiet cores (8 rounds of 5 s; BENCH_ROUNDS / BENCH_DURATION change them); --quick ≈ 10.
# The metrics question alone, as BENCHMARKS.md ran it: BENCH_ROUNDS=50 BENCH_DURATION=2 bench/run.sh --only-metrics (≈ 30 min,
# then bench/Metrics/profile.sh: the metrics code's share of one server's CPU samples, ≈ 6 min).
# BENCH_BASELINE=<git ref> adds the API built from that commit, metrics on, to part 1's groups (+1/3 of part 1's time):
# a change to how metrics are recorded, measured beside the design it replaces.
# BENCH_POSTGRES=1 puts part 1's APIs on one throwaway PostgreSQL (a database each) instead of SQLite, so that
# GET /api/users/{id} runs through Npgsql and its meter.
# Load tests run with RateLimit__Enabled=false. Everything listens on 127.0.0.1 only.
# Output: the terminal, and bench/out/<UTC time>/ (raw wrk outputs, logs, results.md).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

QUICK=0 ONLY_METRICS=0 ONLY_GROWTH=0
for arg in "$@"; do
  case $arg in
    --quick) QUICK=1 ;;
    --only-metrics) ONLY_METRICS=1 ;;
    --only-growth) ONLY_GROWTH=1 ;;
    *) echo "usage: bench/run.sh [--quick] [--only-metrics | --only-growth]" >&2; exit 2 ;;
  esac
done
if ((ONLY_GROWTH)); then # its own PostgreSQL, APIs and tools: nothing below is needed
  growth_args=()
  ((QUICK)) && growth_args=(--quick)
  exec bench/Growth/run.sh "${growth_args[@]}"
fi
if ((QUICK)); then ROUNDS=${BENCH_ROUNDS:-2} DURATION=3 WARMUP=2 PINNED_WARMUP=20; else ROUNDS=${BENCH_ROUNDS:-8} DURATION=${BENCH_DURATION:-5} WARMUP=5 PINNED_WARMUP=90; fi
CONNECTIONS=32
SCANNER_BATCH=100000

OUT=$ROOT/bench/out/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$OUT/raw"
source bench/lib/lib.sh
POSTGRES=${BENCH_POSTGRES:-0}

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
  echo "mode: $([[ $QUICK == 1 ]] && echo quick || echo full): $ROUNDS rounds × ${DURATION} s per variant after a warm-up of $PINNED_WARMUP s per pinned server, $((2 * WARMUP)) s per other, wrk -t1 -c$CONNECTIONS; $PINNING"
} | tee "$OUT/machine.txt" >&2

# --- Build --------------------------------------------------------------------------------------------------------------
say "building (Release)"
dotnet build bench/Micro/Api.Benchmarks.csproj -c Release -nologo -v q > "$OUT/build.log" 2>&1 || { cat "$OUT/build.log"; exit 1; }
dotnet build bench/peers/bare-kestrel/BareKestrel.csproj -c Release -nologo -v q >> "$OUT/build.log" 2>&1 || { cat "$OUT/build.log"; exit 1; }
BASELINE_APP=
if [[ -n ${BENCH_BASELINE:-} ]]; then
  say "building the baseline $BENCH_BASELINE ($(git rev-parse --short "$BENCH_BASELINE"))"
  mkdir "$TMP/baseline"
  git archive "$BENCH_BASELINE" | tar -x -C "$TMP/baseline"
  dotnet build "$TMP/baseline/src/Api/Api.csproj" -c Release -nologo -v q >> "$OUT/build.log" 2>&1 || { cat "$OUT/build.log"; exit 1; }
  BASELINE_APP=$TMP/baseline/src/Api/bin/Release/net10.0
  echo "baseline: $BENCH_BASELINE = $(git log -1 --format='%h %s' "$BENCH_BASELINE" | cut -c1-100)" | tee -a "$OUT/machine.txt" >&2
fi
(
  cd bench/peers/nestjs
  [[ -d node_modules ]] || npm ci --no-audit --no-fund > "$OUT/npm.log" 2>&1
  npx tsc -p tsconfig.json
) || { say "NestJS peer failed to build (see $OUT/npm.log)"; exit 1; }

# --- PostgreSQL (BENCH_POSTGRES=1) ---------------------------------------------------------------------------------------
if ((POSTGRES)); then
  source bench/lib/postgres.sh
  start_postgres 400
  echo "database: PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') (one server, a database per API)" | tee -a "$OUT/machine.txt" >&2
else
  echo "database: SQLite (a file per API)" | tee -a "$OUT/machine.txt" >&2
fi
database_of() { # server -> its connection-string argument
  if ((POSTGRES)); then
    psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -qAtX -c "CREATE DATABASE ${1//-/_}" > /dev/null
    echo "--ConnectionStrings:Postgres=Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=${1//-/_}"
  else
    echo "--ConnectionStrings:Sqlite=Data Source=$TMP/$1.db"
  fi
}

# --- Part 1: side by side, in rounds ------------------------------------------------------------------------------------
# Every server lives through the whole part and is warmed up before the first round. A fresh .NET server runs at its
# steady speed only once the tiered JIT has recompiled its hot methods: after 6-8 s of load when it has both cores, but
# 30-90 s when pinned to one busy core, where the background compiler competes with the request threads. Measured here:
# pinned bare Kestrel climbs from 18,000 to 30,000 req/s after 30-45 s of load, and runs 30,000 from the first second
# when the JIT does its work up front (DOTNET_TieredCompilation=0 DOTNET_ReadyToRun=0); the pinned API took 30-90 s.
# Short warm-ups left pinned comparisons measuring how far each server's JIT had got (on/off anywhere in 0.54–1.7).

start_server() { # name port pinned(1|0)
  local cpu=() metrics=false app=src/Api/bin/Release/net10.0
  (($3)) && cpu=("${SERVER_CPU[@]}")
  [[ $1 == *-on ]] && metrics=true
  [[ $1 == *-base-on ]] && app=$BASELINE_APP
  # Each branch backgrounds its own subshell, which exec makes the server itself: $! is then the server, which the
  # kill at the end stops (backgrounding the whole case would leave $! a parent whose death the server outlives).
  case $1 in
    # From the build folder, so each app reads its own appsettings.json (log levels) as a deployed app does.
    nest) (cd bench/peers/nestjs && NODE_ENV=production exec "${cpu[@]}" node dist/main.js --port="$2") > "$OUT/$1.log" 2>&1 & ;;
    bare) (cd bench/peers/bare-kestrel/bin/Release/net10.0 && exec "${cpu[@]}" dotnet BareKestrel.dll --urls "http://127.0.0.1:$2") > "$OUT/$1.log" 2>&1 & ;;
    *) local database
      database=$(database_of "$1")
      (cd "$app" && RateLimit__Enabled=false exec "${cpu[@]}" dotnet Api.dll --urls "http://127.0.0.1:$2" \
      --Metrics:HttpRequests:Enabled="$metrics" "$database" --Email:PickupDirectory="$TMP/$1-mail") > "$OUT/$1.log" 2>&1 & ;;
  esac
  PIDS+=($!) SERVER_PID[$1]=$!
  SERVER_URL[$1]=http://127.0.0.1:$2 SERVER_PINNED[$1]=$3
}
create_user() { # base-url -> id
  curl -sf -X POST "$1/api/users" -H 'Content-Type: application/json' -d '{"name":"Bench","email":"bench@example.com"}' |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])'
}
load() { # server endpoint(root|user) seconds [wrk options...] -> wrk's output
  local server=$1 path=/ client=()
  [[ $2 == user ]] && path=/api/users/${USER_ID[$server]}
  ((SERVER_PINNED[$server])) && client=("${CLIENT_CPU[@]}")
  "${client[@]}" wrk -t1 -c"$CONNECTIONS" -d"$3s" "${@:4}" "${SERVER_URL[$server]}$path"
}

# Pinned: the three APIs (metrics on, off, and a second off: A/A; with BENCH_BASELINE a fourth, the baseline's with
# metrics on) on core 0 and wrk on core 1, the seed's NestJS and bare Kestrel beside them on GET /. Not pinned (u-*):
# the same APIs, everything sharing both cores.
say "starting the servers"
declare -A SERVER_PID SERVER_URL SERVER_PINNED USER_ID
PINNED_APIS=(api-on api-off api-offb) UNPINNED_APIS=(u-on u-off u-offb)
[[ -n $BASELINE_APP ]] && PINNED_APIS+=(api-base-on) UNPINNED_APIS+=(u-base-on)
for name in "${PINNED_APIS[@]}"; do start_server "$name" "$(free_port)" 1; done
for name in "${UNPINNED_APIS[@]}"; do start_server "$name" "$(free_port)" 0; done
PEERS=()
((ONLY_METRICS)) || PEERS=(nest bare)
for name in "${PEERS[@]}"; do start_server "$name" "$(free_port)" 1; done
for name in "${!SERVER_URL[@]}"; do wait_ready "$name" "${SERVER_URL[$name]}/" "$OUT"; done
for name in "${PINNED_APIS[@]}" "${UNPINNED_APIS[@]}"; do USER_ID[$name]=$(create_user "${SERVER_URL[$name]}"); done

# Warm-up in 10 s windows, each window's req/s kept in warmup.txt: the last ones should be flat.
warm_up() { # server endpoint seconds
  local left=$3 window
  while ((left > 0)); do
    window=$((left < 10 ? left : 10)) left=$((left - window))
    echo "$1 $2 ${window}s: $(load "$1" "$2" "$window" | awk '/Requests\/sec/ {print $2}') req/s" >> "$OUT/warmup.txt"
  done
}
say "warming up: $PINNED_WARMUP s per pinned server, $((2 * WARMUP)) s per other server (see warmup.txt)"
for name in "${PINNED_APIS[@]}"; do warm_up "$name" root $((PINNED_WARMUP / 2)); warm_up "$name" user $((PINNED_WARMUP / 2)); done
for name in "${UNPINNED_APIS[@]}"; do warm_up "$name" root "$WARMUP"; warm_up "$name" user "$WARMUP"; done
for name in "${PEERS[@]}"; do
  warm_up "$name" root "$([[ $name == bare ]] && echo "$PINNED_WARMUP" || echo $((2 * WARMUP)))"
done

# A group is the servers one ratio compares, on one endpoint: they run back to back, so the machine's drift over the
# round (on this VM, throughput wanders by tens of percent over tens of seconds) falls on them alike. Every round rotates
# the order inside each group and even rounds run backwards, so no server is always first, last, or after the same one.
GROUPS_OF_ROUND=("root ${PINNED_APIS[*]} ${PEERS[*]}" "user ${PINNED_APIS[*]}" "root ${UNPINNED_APIS[*]}" "user ${UNPINNED_APIS[*]}")
for round in $(seq 1 "$ROUNDS"); do
  order=()
  for group in "${GROUPS_OF_ROUND[@]}"; do
    read -r endpoint servers <<< "$group"
    read -ra servers <<< "$servers"
    while read -r name; do order+=("$name $endpoint"); done < <(rotated "$round" "${servers[@]}")
  done
  if ((round % 2 == 0)); then mapfile -t order < <(reversed "${order[@]}"); fi
  for run in "${order[@]}"; do
    read -r name endpoint <<< "$run"
    say "round $round/$ROUNDS: $name $endpoint"
    before=$(python3 bench/lib/cputicks.py "${SERVER_PID[$name]}")
    load "$name" "$endpoint" "$DURATION" --latency > "$OUT/raw/r$round-$name-$endpoint.txt"
    echo "server CPU us: $(($(python3 bench/lib/cputicks.py "${SERVER_PID[$name]}") - before))" >> "$OUT/raw/r$round-$name-$endpoint.txt"
  done
done

if ((ONLY_METRICS)); then
  python3 bench/lib/report.py "$OUT/raw" | tee "$OUT/results.md"
  # Two processes differ by more than the metrics cost; a profile reads it inside one (bench/Metrics/profile.sh).
  if command -v perf > /dev/null; then
    bench/Metrics/profile.sh | tee -a "$OUT/results.md"
  else
    say "no profile: perf is missing (Debian: apt-get install -y --no-install-recommends linux-perf)"
  fi
  say "saved in ${OUT#"$ROOT"/}"
  exit 0
fi

# --- Scanner storm: random unmatched URLs through the real app with metrics on ------------------------------------------
API_ON=${SERVER_URL[api-on]}
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
for feature in Realtime Email Queue Outage Growth; do
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
