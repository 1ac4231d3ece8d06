#!/usr/bin/env bash
# How the users API's cost grows with the number of users: one throwaway PostgreSQL 15 (fsync on, loopback) holding two
# databases, one of 10,000 users and one of 1,000,000 (seeded by SQL with generate_series, ids time-ordered like the
# API's), and one API (Release, metrics on) in front of each. Operations, each measured with wrk on both sizes:
#   get          GET /api/users/{id}, a user in the middle
#   first        GET /api/users?pageSize=20
#   last-after   GET /api/users?after=<the 21st newest>&pageSize=20: the last page by cursor
#   last-page    GET /api/users?page=<last>&pageSize=20: the last page by number (OFFSET, for contrast)
#   signup       POST /api/users (a new address per request; the new rows are deleted after each run)
# Rounds alternate which size goes first; ratios (1M / 10k cost) are taken inside a round and reported as median
# [min–max]. Per run: the API's and PostgreSQL's CPU per request (/proc), and from pg_stat_statements the statements,
# executor time and buffer pages touched per request: the pages show which plan ran (an index seek touches a handful
# at any size; OFFSET touches every page it skips). EXPLAIN (ANALYZE, BUFFERS) of both page queries goes to OUT.
# Usage: bench/Growth/run.sh [--quick] [OUT folder]. Bounded: about 6 minutes (--quick: 3), of which seeding ≈ 1.
# Prints a Markdown table; raw outputs go to OUT (or bench/out/growth-<UTC time>).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

BENCH_NAME=growth
source bench/lib/lib.sh
source bench/lib/postgres.sh
bench_args "$@"
if ((QUICK)); then ROUNDS=${GROWTH_ROUNDS:-2} DURATION=3 WARMUP=2; else ROUNDS=${GROWTH_ROUNDS:-3} DURATION=${GROWTH_DURATION:-5} WARMUP=3; fi
CONNECTIONS=16
SIZES=(10000 1000000)
OUT=${OUT:-$ROOT/bench/out/growth-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT/raw"

command -v wrk > /dev/null || need_debian wrk

{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))," \
    "$(free -g | awk '/^Mem/ {print $2}') GiB; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "mode: $ROUNDS rounds × ${DURATION} s per operation and size, wrk -t1 -c$CONNECTIONS, not pinned"
} > "$OUT/machine.txt"

say "building (Release)"
dotnet build src/Api/Api.csproj -c Release -nologo -v q > "$OUT/build.log" 2>&1 || { cat "$OUT/build.log"; exit 1; }
cp -r "${GROWTH_API_BUILD:-src/Api/bin/Release/net10.0}" "$TMP/api"

say "starting PostgreSQL"
# pg_stat_statements.track_planning off (the default): executor time only. Autovacuum stays on, as in production.
start_postgres 200 -c shared_preload_libraries=pg_stat_statements
psql_ -c "CREATE EXTENSION pg_stat_statements"
for n in "${SIZES[@]}"; do psql_ -c "CREATE DATABASE u$n"; done

say "starting one API per database"
declare -A URL PID MAX_ID GET_ID LAST_AFTER LAST_PAGE
for n in "${SIZES[@]}"; do
  port=$(free_port)
  (cd "$TMP/api" && RateLimit__Enabled=false exec dotnet Api.dll --urls "http://127.0.0.1:$port" \
    --ConnectionStrings:Postgres="Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=u$n" \
    --Email:PickupDirectory="$TMP/mail-$n") > "$OUT/api-$n.log" 2>&1 &
  PIDS+=($!) PID[$n]=$! URL[$n]=http://127.0.0.1:$port
done
for n in "${SIZES[@]}"; do wait_ready "api-$n" "${URL[$n]}/api/users?pageSize=1" "$OUT"; done

# Ids as the API makes them (UUIDv7: 48 bits of milliseconds first), here millisecond i for user i, so every seeded user
# is older than every sign-up and the id order is the creation order. ANALYZE afterwards, as after any bulk load.
for n in "${SIZES[@]}"; do
  say "seeding $n users"
  start=$SECONDS
  psql_ -d "u$n" -c "INSERT INTO users (id, name, email, created_at)
    SELECT (lpad(to_hex(i), 12, '0') || '7000' || '8000' || lpad(to_hex(i), 12, '0'))::uuid, 'Seed ' || i,
           'seed-' || i || '@example.com', timestamptz '2026-01-01' + i * interval '1 ms' FROM generate_series(1, $n) AS i" \
    -c "VACUUM ANALYZE users"
  echo "seeded $n users in $((SECONDS - start)) s; users table + indexes: $(psql_ -d "u$n" -c "SELECT pg_size_pretty(pg_total_relation_size('users'))")" >> "$OUT/machine.txt"
  MAX_ID[$n]=$(psql_ -d "u$n" -c "SELECT id FROM users ORDER BY id DESC LIMIT 1")
  GET_ID[$n]=$(psql_ -d "u$n" -c "SELECT id FROM users ORDER BY id OFFSET $((n / 2)) LIMIT 1")
  LAST_AFTER[$n]=$(psql_ -d "u$n" -c "SELECT id FROM users ORDER BY id OFFSET $((n - 21)) LIMIT 1")
  LAST_PAGE[$n]=$((n / 20))
done

# The plans of the two ways to the last page, at each size (the statements EF Core sends, with the values inlined).
for n in "${SIZES[@]}"; do
  {
    echo "== $n users: last page by cursor"
    psql_ -d "u$n" -c "EXPLAIN (ANALYZE, BUFFERS) SELECT u.id, u.name, u.email, u.created_at FROM users AS u
      WHERE u.id >= '${LAST_AFTER[$n]}' ORDER BY u.id LIMIT 21"
    echo "== $n users: last page by number"
    psql_ -d "u$n" -c "EXPLAIN (ANALYZE, BUFFERS) SELECT u.id, u.name, u.email, u.created_at FROM users AS u
      ORDER BY u.id LIMIT 20 OFFSET $((n - 20))"
    echo "== $n users: what a count of every user costs, against the estimate UserTotal.cs reads above Users:ExactTotalUpTo"
    psql_ -d "u$n" -c "EXPLAIN (ANALYZE, BUFFERS) SELECT count(*) FROM users"
    psql_ -d "u$n" -c "EXPLAIN (ANALYZE) SELECT (c.reltuples / c.relpages * (pg_relation_size(c.oid) / current_setting('block_size')::int))::bigint
      FROM pg_class c WHERE c.oid = 'users'::regclass"
  } >> "$OUT/explain.txt"
done

path_of() { # operation size
  case $1 in
    get) echo "/api/users/${GET_ID[$2]}" ;;
    first) echo "/api/users?pageSize=20" ;;
    last-after) echo "/api/users?after=${LAST_AFTER[$2]}&pageSize=20" ;;
    last-page) echo "/api/users?page=${LAST_PAGE[$2]}&pageSize=20" ;;
    signup) echo "/api/users" ;;
  esac
}
measure() { # label operation size seconds
  local script=() before after statements
  [[ $2 == signup ]] && script=(-s bench/RealPath/signup.lua)
  # The page the run asks for must be what it claims (20 users, the last ones): checked once, before the load.
  if [[ $2 == last-* ]]; then
    curl -sf "${URL[$3]}$(path_of "$2" "$3")" | python3 -c 'import json, sys; p = json.load(sys.stdin); sys.exit(len(p["items"]) != 20 or p["items"][-1]["id"] != sys.argv[1])' "${MAX_ID[$3]}" ||
      { say "$2 at $3 users does not return the last 20 users"; exit 1; }
  fi
  psql_ -c "SELECT pg_stat_statements_reset()" > /dev/null
  before=$(python3 bench/lib/cputicks.py "${PID[$3]}" "$PG_PID")
  wrk -t1 -c"$CONNECTIONS" -d"$4s" --timeout 10s --latency "${script[@]}" "${URL[$3]}$(path_of "$2" "$3")" -- "$1-$3" > "$OUT/raw/$1-$2-$3.txt"
  after=$(python3 bench/lib/cputicks.py "${PID[$3]}" "$PG_PID")
  # Every statement of this database (BEGIN/COMMIT included): calls, executor ms, shared buffer pages hit or read.
  statements=$(psql_ -c "SELECT coalesce(sum(calls), 0), coalesce(round(sum(total_exec_time)::numeric, 1), 0),
    coalesce(sum(shared_blks_hit + shared_blks_read), 0)
    FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = 'u$3'" | tr '|' ' ')
  echo "$before $after $statements" > "$OUT/raw/$1-$2-$3.cpu"
  if [[ $2 == signup ]]; then # the welcome emails sent (at most 2 minutes), then back to the seeded users
    for _ in $(seq 1 240); do
      [[ $(psql_ -d "u$3" -c "SELECT count(*) FROM welcome_email_outbox") == 0 ]] && break
      sleep 0.5
    done
    psql_ -d "u$3" -c "DELETE FROM users WHERE id > '${MAX_ID[$3]}'" -c "VACUUM users" > /dev/null
  fi
}

OPERATIONS=(get first last-after last-page signup)
say "warming up each operation on each size for $WARMUP s"
for n in "${SIZES[@]}"; do for op in "${OPERATIONS[@]}"; do measure warmup "$op" "$n" "$WARMUP"; done; done
for round in $(seq 1 "$ROUNDS"); do
  mapfile -t order < <(rotated "$round" "${SIZES[@]}")
  for op in "${OPERATIONS[@]}"; do
    for n in "${order[@]}"; do
      say "round $round/$ROUNDS: $op at $n users"
      measure "r$round" "$op" "$n" "$DURATION"
    done
  done
done

echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/machine.txt"
for n in "${SIZES[@]}"; do grep -q -E 'fail|exception' -i "$OUT/api-$n.log" && say "note: the API at $n users logged errors (see $OUT/api-$n.log)"; done
sed 's/^/    /' "$OUT/machine.txt"
echo
python3 bench/Growth/report.py "$OUT/raw"
echo
echo "Plans (EXPLAIN ANALYZE, BUFFERS; full text in ${OUT#"$ROOT"/}/explain.txt):"
echo
grep -E '^==|Scan|Limit|Execution Time' "$OUT/explain.txt" | sed 's/^/    /' | head -n 60
