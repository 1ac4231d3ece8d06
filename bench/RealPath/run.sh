#!/usr/bin/env bash
# The real path: the users API on one throwaway PostgreSQL 15 (fsync on, loopback), three servers side by side:
#   api   src/Api (EF Core + Npgsql, metrics on; Email:Outbox:Dispatch=false: it writes the welcome email's outbox row,
#         as the peers do, and sends nothing, so sign-up is measured alone; bench/Queue measures it with its email)
#   nest  bench/peers/nestjs-db, the seed's stack (NestJS 11 + TypeORM + pg + prom-client)
#   bare  bench/peers/bare-kestrel with raw Npgsql: the same statements by hand, no metrics (the ceiling)
# Workloads: GET /api/users/{id}, GET /api/users?page=1&pageSize=20 (each database holds 10,000 users), POST /api/users
# (a new address per request). Reads first, then sign-ups, each in rounds that alternate the order of the servers;
# every ratio is taken inside a round and reported as median [min–max]. Per run it also records the CPU the server and
# PostgreSQL spent (/proc) and the statements PostgreSQL executed (pg_stat_statements), per request.
# Unpinned: the servers, PostgreSQL and wrk share the cores, as in the issue that asked for it.
# Usage: bench/RealPath/run.sh [--quick] [OUT folder]. Prints a Markdown table; raw outputs go to OUT (or a temp dir).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

BENCH_NAME=realpath
source bench/lib/lib.sh
source bench/lib/postgres.sh
bench_args "$@"
if ((QUICK)); then ROUNDS=${REALPATH_ROUNDS:-2} DURATION=3 WARMUP=2; else ROUNDS=${REALPATH_ROUNDS:-5} DURATION=${REALPATH_DURATION:-6} WARMUP=4; fi
CONNECTIONS=32
SEED_USERS=10000
OUT=${OUT:-$ROOT/bench/out/realpath-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT/raw"

# --- Tools ------------------------------------------------------------------------------------------------------------
command -v wrk > /dev/null || need_debian wrk

# --- Build ------------------------------------------------------------------------------------------------------------
say "building (Release)"
dotnet build src/Api/Api.csproj -c Release -nologo -v q > "$OUT/build.log" 2>&1 || { cat "$OUT/build.log"; exit 1; }
dotnet build bench/peers/bare-kestrel/BareKestrel.csproj -c Release -nologo -v q >> "$OUT/build.log" 2>&1 || { cat "$OUT/build.log"; exit 1; }
(
  cd bench/peers/nestjs-db
  [[ -d node_modules ]] || npm ci --no-audit --no-fund > "$OUT/npm.log" 2>&1
  npx tsc -p tsconfig.json
) || { say "NestJS + TypeORM peer failed to build (see $OUT/npm.log)"; exit 1; }


# --- PostgreSQL -------------------------------------------------------------------------------------------------------
say "starting PostgreSQL"
# fsync stays on (a real commit); pg_stat_statements counts what each server sends; 300 connections cover three pools.
start_postgres 300 -c shared_preload_libraries=pg_stat_statements
psql_ -c "CREATE EXTENSION pg_stat_statements" -c "CREATE DATABASE api" -c "CREATE DATABASE nest" -c "CREATE DATABASE bare"

# --- Servers ----------------------------------------------------------------------------------------------------------
say "starting the servers"
API_PORT=$(free_port) NEST_PORT=$(free_port) BARE_PORT=$(free_port)
# From a copy of the build, so that rebuilding src/Api during a run cannot change the binary under the server.
# REALPATH_API_BUILD names another build folder of src/Api to measure instead (an earlier commit's, for a before/after).
cp -r "${REALPATH_API_BUILD:-src/Api/bin/Release/net10.0}" "$TMP/api"
(cd "$TMP/api" && RateLimit__Enabled=false exec dotnet Api.dll --urls "http://127.0.0.1:$API_PORT" \
  --ConnectionStrings:Postgres="Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=api" \
  --Email:PickupDirectory="$TMP/mail" --Email:Outbox:Dispatch=false) > "$OUT/api.log" 2>&1 &
PIDS+=($!) API_PID=$!
(cd bench/peers/nestjs-db && NODE_ENV=production DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/nest" \
  exec node dist/main.js --port="$NEST_PORT") > "$OUT/nest.log" 2>&1 &
PIDS+=($!) NEST_PID=$!
(cd bench/peers/bare-kestrel/bin/Release/net10.0 && exec dotnet BareKestrel.dll --urls "http://127.0.0.1:$BARE_PORT" \
  --ConnectionStrings:Postgres="Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=bare") > "$OUT/bare.log" 2>&1 &
PIDS+=($!) BARE_PID=$!
# And the API on its embedded default, SQLite: not a peer, but where the sign-up stalls of issue 12 were seen.
SQLITE_PORT=$(free_port)
(cd "$TMP/api" && RateLimit__Enabled=false exec dotnet Api.dll --urls "http://127.0.0.1:$SQLITE_PORT" \
  --ConnectionStrings:Sqlite="Data Source=$TMP/sqlite.db" --Email:PickupDirectory="$TMP/sqlite-mail") > "$OUT/sqlite.log" 2>&1 &
PIDS+=($!) SQLITE_PID=$!
declare -A URL=([api]=http://127.0.0.1:$API_PORT [nest]=http://127.0.0.1:$NEST_PORT [bare]=http://127.0.0.1:$BARE_PORT
  [sqlite]=http://127.0.0.1:$SQLITE_PORT)
declare -A PID=([api]=$API_PID [nest]=$NEST_PID [bare]=$BARE_PID [sqlite]=$SQLITE_PID)
for server in api nest bare sqlite; do wait_ready "$server" "${URL[$server]}/api/users?page=1&pageSize=1" "$OUT"; done

# The same 10,000 users in each database (sign-ups through the API would take a minute); ids time-ordered like ours.
for db in api nest bare; do
  psql_ -d "$db" -c "INSERT INTO users (id, name, email, created_at)
    SELECT (lpad(to_hex(i), 12, '0') || '7000' || '8000' || lpad(to_hex(i), 12, '0'))::uuid, 'Seed ' || i,
           'seed-' || i || '@example.com', now() FROM generate_series(1, $SEED_USERS) AS i" -c "VACUUM ANALYZE"
done
USER_ID=$(psql_ -d api -c "SELECT id FROM users ORDER BY id OFFSET 4999 LIMIT 1")
# SQLite gets the same 10,000 users through its own engine (python3's sqlite3), with the same ids.
python3 - "$TMP/sqlite.db" "$SEED_USERS" << 'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
def uuid(i):  # the ids of the PostgreSQL seed above, as EF Core stores a Guid in SQLite (upper-case text)
    h = f"{i:012x}70008000{i:012x}"
    return f"{h[0:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}".upper()
rows = [(uuid(i), f"Seed {i}", f"seed-{i}@example.com") for i in range(1, int(sys.argv[2]) + 1)]
db.executemany("INSERT INTO users (id, name, email, created_at) VALUES (?, ?, ?, '2026-11-25 00:00:00+00:00')", rows)
db.commit()
PY

SERVERS=(api nest bare sqlite)
path_of() { # workload
  case $1 in
    user) echo "/api/users/$USER_ID" ;;
    list) echo "/api/users?page=1&pageSize=20" ;;
    signup) echo "/api/users" ;;
  esac
}
measure() { # label server workload seconds
  local url before after statements
  url=${URL[$2]}$(path_of "$3")
  local script=() ; [[ $3 == signup ]] && script=(-s bench/RealPath/signup.lua)
  psql_ -c "SELECT pg_stat_statements_reset()" > /dev/null
  before=$(python3 bench/lib/cputicks.py "${PID[$2]}" "$PG_PID")
  wrk -t1 -c"$CONNECTIONS" -d"$4s" --latency "${script[@]}" "$url" -- "$1" > "$OUT/raw/$1-$2-$3.txt"
  after=$(python3 bench/lib/cputicks.py "${PID[$2]}" "$PG_PID")
  # Statements PostgreSQL executed for this server's database (BEGIN/COMMIT included) and their execution time.
  statements=$(psql_ -c "SELECT coalesce(sum(calls), 0), coalesce(round(sum(total_exec_time)::numeric, 1), 0)
    FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = '$2'" | tr '|' ' ')
  echo "$before $after $statements" > "$OUT/raw/$1-$2-$3.cpu"
}

say "warming up every server and workload for ${WARMUP} s"
for server in "${SERVERS[@]}"; do
  for workload in user list signup; do measure warmup "$server" "$workload" "$WARMUP"; done
done
# The warm-up's sign-ups grew each table by a different amount; back to the same 10,000 users for the reads.
for db in api nest bare; do psql_ -d "$db" -c "DELETE FROM users WHERE email NOT LIKE 'seed-%'" -c "VACUUM ANALYZE users"; done
python3 -c "import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); db.execute(\"DELETE FROM users WHERE email NOT LIKE 'seed-%'\"); db.commit()" "$TMP/sqlite.db"

run_rounds() { # workloads...
  for round in $(seq 1 "$ROUNDS"); do
    # Each round starts with another server, and even rounds run backwards: no server always goes first or last.
    mapfile -t order < <(rotated "$round" "${SERVERS[@]}")
    if ((round % 2 == 0)); then mapfile -t order < <(reversed "${order[@]}"); fi
    for server in "${order[@]}"; do
      for workload in "$@"; do
        say "round $round/$ROUNDS: $server $workload"
        measure "r$round" "$server" "$workload" "$DURATION"
      done
    done
  done
}
run_rounds user list
run_rounds signup

for server in "${SERVERS[@]}"; do
  [[ -f $OUT/$server.log ]] || continue
  grep -q -E 'fail|exception' -i "$OUT/$server.log" && say "note: $server logged errors (see $OUT/$server.log)"
done
echo "welcome emails in the outbox (api, not dispatching / raw Npgsql): $(psql_ -d api -c 'SELECT count(*) FROM welcome_email_outbox') / $(psql_ -d bare -c 'SELECT count(*) FROM welcome_email_outbox'), mails written by api: $(find "$TMP/mail" -type f 2> /dev/null | wc -l)" > "$OUT/outbox.txt"
python3 bench/RealPath/report.py "$OUT/raw"
cat "$OUT/outbox.txt"
