#!/usr/bin/env bash
# The email path beside the seed's: sign-ups, each with its welcome email, through three servers on one PostgreSQL
# (fsync on), every mail delivered to one loopback SMTP sink (bench/lib/smtpsink.py):
#   api    src/Api: outbox row in the sign-up's transaction -> sent from there by MailKit over pooled SMTP (only a
#          failed send becomes a Hangfire job on Redis; before 2026-12-02 every email was one)
#   apib   a second, identical src/Api (A/A: two identical servers must agree; their ratio is the noise floor), or
#          with QUEUE_APIB_BUILD=<build folder> another build of it (before/after)
#   nest   bench/peers/nestjs-bull, the seed's path: NestJS + TypeORM, a Bull job on Redis -> nodemailer, pooled SMTP
# Each server has its own database and its own redis-server (append-only, fsync every second), so Redis' INFO
# commandstats and CPU are per server. A round gives each server, in rotated order (even rounds backwards), DURATION
# seconds of sign-ups from wrk (-c16), then waits for its last mail. Per run: emails/s from the first POST to the last
# mail, the CPU the server, its Redis and PostgreSQL spent per delivered email (/proc), Redis commands per job, SQL
# statements per sign-up (pg_stat_statements), lost (users without a mail) and duplicate mails. Ratios inside a round,
# reported as median [min–max]. First the sink alone, fed by a trivial sender, shows what it can take.
# Usage: bench/Queue/run.sh [--quick] [OUT folder]. Prints Markdown; raw outputs go to OUT (or bench/out/queue-<time>).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
BENCH_NAME=queue
source bench/lib/lib.sh
source bench/lib/postgres.sh
bench_args "$@"
if ((QUICK)); then ROUNDS=${QUEUE_ROUNDS:-2} DURATION=3; else ROUNDS=${QUEUE_ROUNDS:-5} DURATION=${QUEUE_DURATION:-6}; fi
CONNECTIONS=16
OUT=${OUT:-$ROOT/bench/out/queue-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT/raw"

command -v wrk > /dev/null || need_debian wrk
for tool in wrk redis-server redis-cli psql node npm dotnet python3; do
  command -v "$tool" > /dev/null || { say "$tool is missing (Debian: wrk, redis-server, postgresql; see test.sh's NEEDS)"; exit 1; }
done
{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, nothing pinned; commit $(git rev-parse --short HEAD)"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$OUT/machine.txt"

say "building (Release) and the Bull peer (npm ci)"
dotnet build src/Api/Api.csproj -c Release -nologo -v q > "$OUT/build.log" 2>&1 || { cat "$OUT/build.log"; exit 1; }
(
  cd bench/peers/nestjs-bull
  [[ -d node_modules ]] || npm ci --no-audit --no-fund > "$OUT/npm.log" 2>&1
  npx tsc -p tsconfig.json
) || { say "the Bull peer failed to build (see $OUT/npm.log)"; exit 1; }

# --- The sink, and what it takes alone -----------------------------------------------------------------------------
SMTP_PORT=$(free_port)
python3 bench/lib/smtpsink.py "$SMTP_PORT" "$TMP/mail.log" > "$OUT/sink.log" 2>&1 &
PIDS+=($!) SINK_PID=$!
sleep 0.5
before=$(python3 bench/lib/cputicks.py "$SINK_PID")
trivial=$(python3 bench/lib/smtpsink.py --send "$SMTP_PORT" 20000 8)
sleep 0.2
sink_us=$((($(python3 bench/lib/cputicks.py "$SINK_PID") - before) / 20000))
echo "sink alone: $trivial mails/s from a trivial python sender (8 connections, no pipelining), ${sink_us} µs of sink CPU per mail: one core takes ~$((1000000 / (sink_us > 0 ? sink_us : 1))) mails/s" > "$OUT/sink.txt"
: > "$TMP/mail.log"

# --- PostgreSQL and one Redis per server ---------------------------------------------------------------------------
say "starting PostgreSQL and Redis"
start_postgres 300 -c shared_preload_libraries=pg_stat_statements
read -ra SERVERS <<< "${QUEUE_SERVERS:-api apib nest}"
psql_ -c "CREATE EXTENSION pg_stat_statements" -c "CREATE DATABASE api" -c "CREATE DATABASE apib" -c "CREATE DATABASE nest" \
  -c 'CREATE DATABASE "crash-api"' -c 'CREATE DATABASE "crash-nest"' 
declare -A URL PID REDIS_PORT REDIS_PID
# After the rounds, a copy of each kind is killed with kill -9 in the middle of its sign-ups: crash-api, crash-nest.
CRASH=()
for server in "${SERVERS[@]}"; do [[ $server == api || $server == nest ]] && CRASH+=("crash-$server"); done
for server in "${SERVERS[@]}" "${CRASH[@]}"; do
  REDIS_PORT[$server]=$(free_port)
  mkdir -p "$TMP/redis-$server"
  redis-server --bind 127.0.0.1 --port "${REDIS_PORT[$server]}" --dir "$TMP/redis-$server" --save '' \
    --appendonly yes --appendfsync everysec > "$OUT/redis-$server.log" 2>&1 &
  PIDS+=($!) REDIS_PID[$server]=$!
done
for server in "${SERVERS[@]}"; do
  for _ in $(seq 1 100); do redis-cli -p "${REDIS_PORT[$server]}" ping > /dev/null 2>&1 && break; sleep 0.1; done
done
for server in "${CRASH[@]}"; do
  for _ in $(seq 1 100); do redis-cli -p "${REDIS_PORT[$server]}" ping > /dev/null 2>&1 && break; sleep 0.1; done
done

# --- Servers -------------------------------------------------------------------------------------------------------
say "starting the servers"
# From a copy of the build, so rebuilding src/Api during a run cannot change the binary under the servers.
# QUEUE_APIB_BUILD puts another build of src/Api (an earlier commit's) in apib's place: a before/after in one run.
cp -r "${QUEUE_API_BUILD:-src/Api/bin/Release/net10.0}" "$TMP/api"
cp -r "${QUEUE_APIB_BUILD:-$TMP/api}" "$TMP/apib"
# QUEUE_PROFILE=1: perf samples the first API's CPU during round 1 (JIT symbols from the perf map), report in OUT/perf.txt.
PROFILE_ENV=()
((${QUEUE_PROFILE:-0})) && PROFILE_ENV=(DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0) # W^X off: perf finds JIT code by the map only in anonymous memory
start_server() { # server [extra API settings...]: (re)starts it on its port, database and Redis
  local server=$1 build=$1
  [[ $server == crash* ]] && build=api
  case $server in
    *nest) (cd bench/peers/nestjs-bull && NODE_ENV=production DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/$server" \
      REDIS_PORT="${REDIS_PORT[$server]}" SMTP_PORT="$SMTP_PORT" exec node dist/main.js --port="${URL[$server]##*:}") >> "$OUT/$server.log" 2>&1 & ;;
    *) (cd "$TMP/$build" && RateLimit__Enabled=false exec env "${PROFILE_ENV[@]}" dotnet Api.dll --urls "${URL[$server]}" \
      --ConnectionStrings:Postgres="Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=$server" \
      --ConnectionStrings:Redis="127.0.0.1:${REDIS_PORT[$server]}" \
      --Email:Smtp:Host=127.0.0.1 --Email:Smtp:Port="$SMTP_PORT" ${QUEUE_API_ARGS:-} "${@:2}") >> "$OUT/$server.log" 2>&1 & ;;
  esac
  PIDS+=($!) PID[$server]=$!
}
for server in "${SERVERS[@]}"; do
  URL[$server]=http://127.0.0.1:$(free_port)
  start_server "$server"
done
for server in "${SERVERS[@]}"; do wait_ready "$server" "${URL[$server]}/metrics" "$OUT"; done

commands() { # server -> Redis commands executed so far
  redis-cli -p "${REDIS_PORT[$1]}" info commandstats | awk -F'[=,:]' '/^cmdstat_/ && !/cmdstat_info/ {n += $3} END {print n + 0}'
}
mails_of() { grep -c " $1-" "$TMP/mail.log" || true; }
measure() { # label server seconds
  local label=$1 server=$2 prefix=$1-$2 users delivered distinct last cpu_before cpu_after cmd_before start statements
  psql_ -c "SELECT pg_stat_statements_reset()" > /dev/null
  redis-cli -p "${REDIS_PORT[$server]}" info commandstats > "$OUT/raw/$prefix.redis-before"
  cmd_before=$(commands "$server")
  cpu_before=$(python3 bench/lib/cputicks.py "${PID[$server]}" "${REDIS_PID[$server]}" "$PG_PID")
  local perf=
  if ((${QUEUE_PROFILE:-0})) && [[ $label == r1 && $server == api ]]; then
    perf record -F 999 -g -p "${PID[$server]}" -o "$OUT/perf.data" > "$OUT/perf.log" 2>&1 &
    perf=$!
  fi
  start=$(date +%s.%N)
  wrk -t1 -c"$CONNECTIONS" -d"$3s" -s bench/RealPath/signup.lua "${URL[$server]}/api/users" -- "$prefix" > "$OUT/raw/$prefix.wrk"
  users=$(psql_ -d "$server" -c "SELECT count(*) FROM users WHERE email LIKE '$prefix-%'")
  # Every user's mail, or nothing more for 15 s (a lost mail), at most 5 minutes.
  local deadline=$((SECONDS + 300)) stalled=$((SECONDS + 15)) seen=-1
  while ((SECONDS < deadline && SECONDS < stalled)); do
    delivered=$(mails_of "$prefix")
    ((delivered >= users)) && break
    ((delivered != seen)) && seen=$delivered stalled=$((SECONDS + 15))
    sleep 0.1
  done
  if [[ -n $perf ]]; then
    kill -INT "$perf"; wait "$perf" || true
    perf report -i "$OUT/perf.data" --no-children --sort dso,symbol --percent-limit 0.3 --stdio -g none 2> /dev/null | grep -v '^$' | head -n 80 > "$OUT/perf.txt" || true
    perf report -i "$OUT/perf.data" --children --sort symbol --percent-limit 3 --stdio -g none 2> /dev/null | grep -v '^$' | head -n 120 > "$OUT/perf-children.txt" || true
  fi
  sleep 0.3 # a duplicate sent right after the last first delivery is still counted
  cpu_after=$(python3 bench/lib/cputicks.py "${PID[$server]}" "${REDIS_PID[$server]}" "$PG_PID")
  delivered=$(mails_of "$prefix")
  # Counted again: a sign-up wrk gave up on at its end may still have committed after the first count.
  users=$(psql_ -d "$server" -c "SELECT count(*) FROM users WHERE email LIKE '$prefix-%'")
  distinct=$(grep " $prefix-" "$TMP/mail.log" | awk '{print $2}' | sort -u | wc -l)
  last=$(grep " $prefix-" "$TMP/mail.log" | awk '{print $1}' | sort -n | tail -n1)
  redis-cli -p "${REDIS_PORT[$server]}" info commandstats > "$OUT/raw/$prefix.redis-after"
  psql_ -c "SELECT calls, left(query, 120) FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = '$server' ORDER BY calls DESC" > "$OUT/raw/$prefix.sql"
  statements=$(psql_ -c "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = '$server'")
  echo "$server $start ${last:-$start} $users $delivered $distinct $cpu_before $cpu_after $cmd_before $(commands "$server") $statements" > "$OUT/raw/$prefix.run"
}

# QUEUE_ROUNDS=0: the kill -9 part alone.
if ((ROUNDS > 0)); then
  say "warming up each server (2 × ${DURATION} s of sign-ups)"
  for server in "${SERVERS[@]}"; do measure warmup1 "$server" "$DURATION"; measure warmup2 "$server" "$DURATION"; done
fi
for ((round = 1; round <= ROUNDS; round++)); do
  mapfile -t order < <(rotated "$round" "${SERVERS[@]}")
  if ((round % 2 == 0)); then mapfile -t order < <(reversed "${order[@]}"); fi
  for server in "${order[@]}"; do
    say "round $round/$ROUNDS: $server"
    measure "r$round" "$server" "$DURATION"
  done
done
# --- kill -9 in the middle of the sign-ups ------------------------------------------------------------------------
# Every user the database committed must get its mail once the server is back (at least once); a mail sent twice is a
# duplicate. The API's rows claimed but not deleted come back after the claim's lease (2 × Email:Smtp:TimeoutSeconds,
# 60 s), its jobs in flight (retries; an older build's every email) after Queue:InvisibilityTimeoutSeconds (30 s here:
# 5 s requeued jobs still running on this loaded machine); Bull re-runs a dead worker's active jobs at its stalled-job
# check (30 s). So the count of duplicates waits 70 s after the last first delivery.
: > "$OUT/crash.txt"
for server in "${CRASH[@]}"; do
  URL[$server]=http://127.0.0.1:$(free_port)
  start_server "$server" --Queue:InvisibilityTimeoutSeconds=30
  wait_ready "$server" "${URL[$server]}/metrics" "$OUT"
  say "kill -9: $server"
  wrk -t1 -c"$CONNECTIONS" -d"$((2 * DURATION))s" -s bench/RealPath/signup.lua "${URL[$server]}/api/users" -- "$server" > "$OUT/raw/$server.wrk" 2>&1 &
  wrk_pid=$!
  sleep "$DURATION"
  kill -9 "${PID[$server]}"
  wait "$wrk_pid" || true
  start_server "$server" --Queue:InvisibilityTimeoutSeconds=30
  wait_ready "$server" "${URL[$server]}/metrics" "$OUT"
  users=$(psql_ -d "$server" -c "SELECT count(*) FROM users WHERE email LIKE '$server-%'")
  deadline=$((SECONDS + 180)) stalled=$((SECONDS + 45)) seen=-1
  while ((SECONDS < deadline && SECONDS < stalled)); do
    delivered=$(mails_of "$server")
    ((delivered >= users)) && break
    ((delivered != seen)) && seen=$delivered stalled=$((SECONDS + 45))
    sleep 0.2
  done
  sleep 70
  delivered=$(mails_of "$server")
  distinct=$(grep " $server-" "$TMP/mail.log" | awk '{print $2}' | sort -u | wc -l)
  echo "| ${server#crash-} | $users | $((users - distinct)) | $((delivered - distinct)) |" >> "$OUT/crash.txt"
done

echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/machine.txt"
cat "$OUT/machine.txt" "$OUT/sink.txt"
echo
python3 bench/Queue/report.py "$OUT/raw"
if [[ -s $OUT/crash.txt ]]; then
  echo
  echo "| kill -9 mid-sign-ups, restarted | users committed | lost | duplicates |"
  echo "| --- | ---: | ---: | ---: |"
  cat "$OUT/crash.txt"
fi
