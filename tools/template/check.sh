#!/usr/bin/env bash
# The `dotnet new` template (.template.config/template.json), tested as a team uses it: installed into a throwaway
# hive, instantiated as Acme.Orders with the default options and with every optional feature left out, and each
# instance checked as a product of its own: no leftover of the boilerplate's names anywhere in its tree, builds with
# warnings as errors, starts and answers GET /, /health/ready and /metrics with its own service_name, and passes a
# quick subset of its own checks (promtool on its rules, its dashboard tests). Prints one line per step; exits 1 at
# the first failure, naming it. Reuses the NuGet cache; each instance is built once.
#
#   tools/template/check.sh            both instances
#   tools/template/check.sh default    only the default one (sqlite, every sample kept)
#   tools/template/check.sh lean       only the lean one (postgres, every sample left out)
#   tools/template/check.sh names      both, only instantiated and searched for old names (seconds, no build)
#   KEEP=1 tools/template/check.sh     keeps the instances (their folder is printed) to look at
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
name=Acme.Orders
service=acme-orders
work=$(mktemp -d /tmp/template-check.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2> /dev/null; wait "$pid" 2> /dev/null; done
  [[ -n ${pg_dir:-} ]] && as_postgres "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate stop > /dev/null 2>&1 && rm -rf "$pg_dir"
  if [[ -n ${KEEP:-} ]]; then echo "template: instances kept in $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

fail() { echo "template: FAILED: $*" >&2; exit 1; }
ok() { echo "template: $*: ok"; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
pg_bin=$(compgen -G "/usr/lib/postgresql/*/bin" | sort -V | tail -n 1)
as_postgres() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# What a team would otherwise rename by hand. Generic on purpose: it greps the whole instance, so a file another change
# adds that leaks the boilerplate's names fails here, naming the file.
check_no_leftovers() { # dir
  local leaks
  leaks=$( (grep -rIliE 'backend[-_ ]?boilerplate|backend\.slnx' "$1"
    grep -rIlE -e '(namespace|using|using static) Api(\.|;)' -e '(src/Api|tests/Api\.Tests)([/ "`]|$)' -e '"Api\.dll"' "$1") | sort -u)
  [[ -z $leaks ]] || fail "old names left in: $(sed "s#^$1/##" <<< "$leaks" | tr '\n' ' ')"
  leaks=$(cd "$1" && find . \( -iname '*backend-boilerplate*' -o -iname 'Backend.slnx' -o -path './src/Api' -o -path './tests/Api.Tests' \) -print)
  [[ -z $leaks ]] || fail "old file names left: $leaks"
}

# ...and only those: the word Api in settings keys and sections, identifiers and job labels is as often in the default
# instance as in the repository's files it was made from.
check_api_words_kept() { # dir
  local pattern in_repo in_instance
  for pattern in '(?<!/)Api:' '"Api";' 'ApiKey' 'job="api"'; do
    in_repo=$(cd "$root" && git ls-files -z -- . ':!bench' ':!tools/template' ':!.template.config' | xargs -0 cat 2> /dev/null | grep -oP -- "$pattern" | wc -l)
    in_instance=$(grep -rhoP -- "$pattern" "$1" | wc -l)
    ((in_repo == in_instance)) || fail "$1: '$pattern' $in_repo times in the repository, $in_instance in the instance: the template renamed an Api that is not the namespace"
  done
}

# Starts the built app from its project folder (its content root, as `dotnet run` has it) and asks what a platform
# asks: GET / names the new service, readiness is 200, /metrics carries service_name="acme-orders".
check_answers() { # dir [env...]
  local dir=$1 port log
  shift
  port=$(free_port)
  log="$work/$(basename "$dir").log"
  (cd "$dir/src/$name" && exec env "$@" dotnet "bin/Debug/net10.0/$name.dll" --urls "http://127.0.0.1:$port") > "$log" 2>&1 &
  pids+=($!)
  local base="http://127.0.0.1:$port" status="" deadline=$((SECONDS + 120))
  while ((SECONDS < deadline)); do
    status=$(curl -s -o /dev/null -w '%{http_code}' "$base/health/ready")
    [[ $status == 200 ]] && break
    kill -0 "${pids[-1]}" 2> /dev/null || fail "$dir: the app exited: $(tail -n 20 "$log")"
    sleep 0.5
  done
  [[ $status == 200 ]] || fail "$dir: /health/ready answered $status for 120 s: $(tail -n 20 "$log")"
  local body
  body=$(curl -sf "$base/") || fail "$dir: GET / failed"
  [[ $body == *"\"name\":\"$service\""* ]] || fail "$dir: GET / answered $body"
  curl -sf "$base/metrics" > "$dir.metrics" || fail "$dir: GET /metrics failed"
  grep -q "service_name=\"$service\"" "$dir.metrics" || fail "$dir: /metrics has no service_name=\"$service\""
  curl -s -o /dev/null -w '%{http_code}' "$base/ws" > "$dir.ws"
}

# A quick subset of the instance's own checks, not its whole suite: its rules and their unit tests, and its dashboard
# tests (structure and query syntax, no server).
check_own_checks() { # dir
  (cd "$1" && promtool check rules prometheus/alerts.yml > /dev/null && promtool test rules prometheus/*.test.yml > /dev/null) \
    || fail "$1: promtool on its own rules: $(cd "$1" && promtool test rules prometheus/*.test.yml 2>&1 | tail -n 20)"
  local out
  out=$(cd "$1" && dotnet test "tests/$name.Tests" --no-build --nologo --filter "FullyQualifiedName~Monitoring.DashboardStructureTests" 2>&1) \
    || fail "$1: its dashboard tests: $(tail -n 30 <<< "$out")"
  grep -qE 'Passed:[[:space:]]+[1-9]' <<< "$out" || fail "$1: no dashboard test ran: $(tail -n 10 <<< "$out")"
}

instantiate() { # folder options...
  local instance=$1 dir="$work/$1"
  shift
  dotnet new monitored-api -n "$name" -o "$dir" --debug:custom-hive "$work/hive" "$@" > "$work/new.log" 2>&1 \
    || fail "dotnet new monitored-api $*: $(cat "$work/new.log")"
  check_no_leftovers "$dir"
  ok "$instance: instantiated (${*:-default options}), no old names"
  [[ $which == names ]] && return
  local start=$SECONDS
  (cd "$dir" && dotnet build "$name.slnx" -warnaserror --nologo -v q > "$work/build.log" 2>&1) \
    || fail "$instance: build: $(grep -E 'error|Error' "$work/build.log" | sort -u | head -n 20)"
  ok "$instance: builds with warnings as errors ($((SECONDS - start)) s)"
}

dotnet new install "$root" --debug:custom-hive "$work/hive" > "$work/install.log" 2>&1 \
  || fail "dotnet new install: $(cat "$work/install.log")"
ok "installed into a throwaway hive"

which=${1:-all}
if [[ $which == names ]]; then
  instantiate default
  check_api_words_kept "$work/default"
  ok "default: Api kept in keys, identifiers and job labels"
  instantiate lean --database postgres --realtime false
  exit 0
fi
if [[ $which == all || $which == default ]]; then
  instantiate default
  check_api_words_kept "$work/default"
  ok "default: Api kept in keys, identifiers and job labels"
  check_answers "$work/default"
  [[ $(cat "$work/default.ws") == 400 ]] || fail "default: /ws answered $(cat "$work/default.ws"), not the hub's 400 to a plain GET"
  ok "default: answers /, /health/ready, /metrics as $service"
  check_own_checks "$work/default"
  ok "default: its promtool rule tests and dashboard tests pass"
fi

# A throwaway PostgreSQL for the instance made with --database postgres (initdb as the postgres user when root).
start_postgres() {
  [[ -x $pg_bin/initdb ]] || fail "PostgreSQL is not installed (Debian: apt-get install -y postgresql)"
  pg_dir=$(mktemp -d /tmp/template-pg.XXXXXX)
  [[ $(id -u) -eq 0 ]] && chown postgres "$pg_dir"
  pg_port=$(free_port)
  as_postgres "$pg_bin/initdb" -N -A trust -U app -D "$pg_dir/data" > /dev/null || fail "initdb failed"
  as_postgres "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/log" -w \
    -o "-c fsync=off -c listen_addresses=127.0.0.1 -p $pg_port -k $pg_dir" start > /dev/null || fail "PostgreSQL did not start: $(cat "$pg_dir/log")"
}

if [[ $which == all || $which == lean ]]; then
  instantiate lean --database postgres --realtime false
  grep -q '"Postgres": "Host=localhost;Port=5432' "$work/lean/src/$name/appsettings.json" \
    && ! grep -q '"Sqlite"' "$work/lean/src/$name/appsettings.json" || fail "lean: appsettings.json does not default to PostgreSQL"
  start_postgres
  # The shipped default names localhost:5432; the test's server listens on a free port, so only the port is moved.
  check_answers "$work/lean" "ConnectionStrings__Postgres=Host=127.0.0.1;Port=$pg_port;Username=app;Database=app"
  [[ ! -e $work/lean/src/$name/data/app.db ]] || fail "lean: made a SQLite file although its default database is PostgreSQL"
  [[ $(cat "$work/lean.ws") == 404 ]] || fail "lean: /ws answered $(cat "$work/lean.ws"), the hub was left out"
  ok "lean: answers /, /health/ready, /metrics as $service on PostgreSQL; no /ws"
  # What the left-out features exported, named nowhere in the lean instance's dashboards, rules or manifests: a panel
  # or an alert for a removed feature is removed with it, never left empty.
  if [[ -f $work/default.metrics ]]; then
    gone=$(comm -23 <(awk '/^# TYPE /{print $3}' "$work/default.metrics" | sort -u) <(awk '/^# TYPE /{print $3}' "$work/lean.metrics" | sort -u))
    [[ -n $gone ]] || fail "lean: exports every metric the default instance does; nothing was left out"
    for metric in $gone; do
      base=${metric%_total}
      if found=$(grep -rlE "\b${base}(_total|_bucket|_sum|_count)?\b" "$work/lean/grafana" "$work/lean/prometheus" "$work/lean/deploy"); then
        fail "lean: $metric is gone with its feature but still read by: $(sed "s#^$work/lean/##" <<< "$found" | tr '\n' ' ')"
      fi
    done
    ok "lean: no panel, rule or manifest reads a metric of a left-out feature ($(wc -w <<< "$gone") metrics gone)"
  fi
  check_own_checks "$work/lean"
  ok "lean: its promtool rule tests and dashboard tests pass"
fi
