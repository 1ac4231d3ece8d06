#!/usr/bin/env bash
# The `dotnet new` template (.template.config/template.json), tested as a team uses it: packed into a .nupkg
# (tools/template/Template.csproj), installed into a throwaway hive, instantiated as Acme.Orders, and each instance
# checked as a product of its own: no leftover of the boilerplate's names anywhere in its tree, nor of the features it
# left out in its docs and tests; builds with warnings as errors; starts and answers GET /, /health/ready and /metrics
# with its own service_name; no panel, rule or manifest reads a metric of a left-out feature; passes a quick subset of
# its own checks (promtool on its rules, its Kubernetes copies, its dashboard tests; an instance that left features out
# also its monitoring end-to-end tests, on a real Prometheus). Prints one line per step; exits 1 at the first failure,
# naming it. Reuses the NuGet cache; each instance is built once.
#
#   tools/template/check.sh            default and minimal, installed from the .nupkg (what ./test.sh runs)
#   tools/template/check.sh default    sqlite, every sample kept
#   tools/template/check.sh minimal    postgres, every sample left out (--users false --email false --realtime false)
#   tools/template/check.sh lean       postgres, --realtime false
#   tools/template/check.sh noemail    sqlite, --email false (the users resource kept)
#   tools/template/check.sh names      the four, only instantiated and searched for leftovers (seconds, no build)
#   tools/template/check.sh pack       only the .nupkg: packed, its contents checked, installed
#   KEEP=1 tools/template/check.sh     keeps the instances (their folder is printed) to look at
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
name=Acme.Orders
service=acme-orders
work=$(mktemp -d /tmp/template-check.XXXXXX)
which=${1:-all}
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
docs=(README.md MONITORING.md RUNBOOKS.md GRAFANA_SETUP.md GRAFANA_SETUP.ko.md)

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

# A left-out feature leaves no word in the docs a reader follows (BENCHMARKS.md: the boilerplate's record, its sections
# on the feature), its dashboard, rules and their Kubernetes copies, nor a request in the tests that would fail on it.
# (Alertmanager's inhibition still names QueueOutboxNotDraining: a matcher, not a panel or alert, and AlertDeliveryTests
# mutes it by name.) The core docs name no test class the instance does not have (docs/RECIPES.md is not checked:
# its recipes build on the users resource).
check_left_out() { # dir
  local dir=$1 found="" pattern where rules="prometheus grafana deploy/kubernetes/overlays deploy/kubernetes/base/monitoring/dashboards.yaml"
  while IFS=';' read -r off pattern where; do
    [[ ${!off} == false ]] || continue
    # shellcheck disable=SC2086 # where: a list of paths
    found+=$(cd "$dir" && grep -rnP -- "$pattern" $where 2> /dev/null | sed "s/^/[$off] /")
  done << EOF
realtime;/ws\b|SignalR|WebSocket|[Bb]ackplane|\bhub\b|hub's|[Bb]roadcast|[Rr]eal-?time;${docs[*]} BENCHMARKS.md $rules
sendsEmail;[Ww]elcome|Email(:|__)(Smtp|From|Outbox)|EMAIL_FROM|[Oo]utbox|MailKit|SMTP 5xx|\bBull\b|EmailQueueTests;${docs[*]} BENCHMARKS.md $rules docker-compose.yml .env.example
users;/api/users;${docs[*]} tests src
users;[Ss]ign-ups?\b(?! or anonymous)|userCreated|Users:|users API|Users/;${docs[*]}
sqlite;nothing to install|embedded defaults: SQLite;README.md
EOF
  local test
  for test in $(cd "$dir" && grep -ohP '\b[A-Z][A-Za-z]+Tests\b' "${docs[@]}" BENCHMARKS.md | sort -u); do
    grep -rqP "class $test\b" "$dir/tests" || found+="
[tests] the docs name $test, which the instance does not have"
  done
  [[ -z $found ]] || fail "$(basename "$dir"): left-out features still named:
$found"
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
  local ws users_status
  ws=$(curl -s -o /dev/null -w '%{http_code}' "$base/ws")
  users_status=$(curl -s -o /dev/null -w '%{http_code}' "$base/api/users")
  if [[ $realtime == true ]]; then [[ $ws == 400 ]] || fail "$dir: /ws answered $ws, not the hub's 400 to a plain GET"
  else [[ $ws == 404 ]] || fail "$dir: /ws answered $ws although the hub was left out"; fi
  if [[ $users == true ]]; then
    [[ $users_status == 200 ]] || fail "$dir: GET /api/users answered $users_status"
    # A sign-up writes the users table its migrations made (a fresh InitialCreate without the email's outbox).
    users_status=$(curl -s -o /dev/null -w '%{http_code}' -H 'content-type: application/json' -d '{"name":"Ada","email":"ada@example.com"}' "$base/api/users")
    [[ $users_status == 201 ]] || fail "$dir: POST /api/users answered $users_status: $(tail -n 20 "$log")"
  else [[ $users_status == 404 ]] || fail "$dir: GET /api/users answered $users_status although the users resource was left out"; fi
}

# What the left-out features exported, named nowhere in the instance's dashboards, rules or manifests: a panel or an
# alert for a removed feature is removed with it, never left empty. Against the default instance's /metrics.
check_no_orphan_queries() { # dir
  local dir=$1 gone metric base found
  [[ -f $work/default.metrics ]] || { echo "template: $(basename "$dir"): (no default instance ran: its panels are not compared)"; return; }
  gone=$(comm -23 <(awk '/^# TYPE /{print $3}' "$work/default.metrics" | sort -u) <(awk '/^# TYPE /{print $3}' "$dir.metrics" | sort -u))
  [[ -n $gone ]] || fail "$(basename "$dir"): exports every metric the default instance does; nothing was left out"
  for metric in $gone; do
    base=${metric%_total}
    if found=$(grep -rlE "\b${base}(_total|_bucket|_sum|_count)?\b" "$dir/grafana" "$dir/prometheus" "$dir/deploy"); then
      fail "$(basename "$dir"): $metric is gone with its feature but still read by: $(sed "s#^$dir/##" <<< "$found" | tr '\n' ' ')"
    fi
  done
  ok "$(basename "$dir"): no panel, rule or manifest reads a metric of a left-out feature ($(wc -w <<< "$gone") metrics gone: $(tr '\n' ' ' <<< "$gone"))"
}

# A quick subset of the instance's own checks, not its whole suite: its rules and their unit tests, its Kubernetes
# copies of them, and its dashboard tests (structure and query syntax, no server). An instance that left features out
# also runs its monitoring end-to-end class: the dashboards and rules that remain, on a real Prometheus fed by the
# routes and the queue that remain, every panel answering with data (the default instance's is the repository's own).
check_own_checks() { # dir instance
  local dir=$1 instance=$2 start=$SECONDS
  (cd "$dir" && promtool check rules prometheus/alerts.yml > /dev/null && promtool test rules prometheus/*.test.yml > /dev/null) \
    || fail "$instance: promtool on its own rules: $(cd "$dir" && promtool test rules prometheus/*.test.yml 2>&1 | tail -n 20)"
  # The template cuts the dashboard's and rules' Kubernetes copies by regions of their own: they must still be what
  # the instance's own tools/kubernetes/generate.sh makes (with the repository's Node modules).
  "$root/tools/kubernetes/install.sh" > /dev/null || fail "tools/kubernetes/install.sh failed"
  ln -sfn "$root/tools/kubernetes/node_modules" "$dir/tools/kubernetes/node_modules"
  local out
  out=$(cd "$dir" && node tools/kubernetes/generate.mjs --check 2>&1) \
    || fail "$instance: deploy/kubernetes is not what its own tools/kubernetes/generate.sh makes: $out"
  ok "$instance: promtool rule tests pass; deploy/kubernetes is what its generate.sh makes ($((SECONDS - start)) s)"
  [[ -f $dir/tests/$name.Tests/Monitoring/MonitoringEndToEndTests.cs ]] || fail "$instance: has no monitoring end-to-end test"
  # The dashboard tests, and one class of in-process apps on their own database (the tests' default whatever the
  # instance's --database; a PostgreSQL default that leaked into the tests would fail it).
  local filter="FullyQualifiedName~Monitoring.DashboardStructureTests|FullyQualifiedName~Observability.MetricsEndpointTests" what="dashboard and metrics endpoint tests"
  [[ $instance == default ]] || filter+="|FullyQualifiedName~Monitoring.MonitoringEndToEndTests" what+=", monitoring end-to-end tests"
  start=$SECONDS
  out=$(cd "$dir" && dotnet test "tests/$name.Tests" --no-build --nologo --filter "$filter" --logger 'console;verbosity=normal' 2>&1) \
    || fail "$instance: its $what: $(grep -E 'Failed |Error Message' -A2 <<< "$out" | head -n 30)"
  grep -qE 'Passed:[[:space:]]+[1-9]' <<< "$out" || fail "$instance: no dashboard test ran: $(tail -n 10 <<< "$out")"
  # Every fact of the class ran: a filter that matched none of it would pass silently.
  local ran facts
  ran=$(grep -cE '^[[:space:]]+Passed [A-Za-z.]+\.Monitoring\.MonitoringEndToEndTests\.' <<< "$out")
  facts=$(awk '/class RedisDownAlertTests/ { exit } /\[Fact\]/ { n++ } END { print n + 0 }' "$dir/tests/$name.Tests/Monitoring/MonitoringEndToEndTests.cs")
  [[ $instance == default ]] || ((ran == facts && facts > 0)) || fail "$instance: $ran of the $facts monitoring end-to-end tests ran: $(tail -n 10 <<< "$out")"
  ok "$instance: its $what pass ($(grep -oE 'Passed:[[:space:]]+[0-9]+' <<< "$out" | tr -s ' '), $((SECONDS - start)) s)"
}

# A throwaway PostgreSQL for the instances made with --database postgres (initdb as the postgres user when root).
start_postgres() {
  [[ -n ${pg_port:-} ]] && return
  [[ -x $pg_bin/initdb ]] || fail "PostgreSQL is not installed (Debian: apt-get install -y postgresql)"
  pg_dir=$(mktemp -d /tmp/template-pg.XXXXXX)
  [[ $(id -u) -eq 0 ]] && chown postgres "$pg_dir"
  pg_port=$(free_port)
  as_postgres "$pg_bin/initdb" -N -A trust -U app -D "$pg_dir/data" > /dev/null || fail "initdb failed"
  as_postgres "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/log" -w \
    -o "-c fsync=off -c listen_addresses=127.0.0.1 -p $pg_port -k $pg_dir" start > /dev/null || fail "PostgreSQL did not start: $(cat "$pg_dir/log")"
}

# One instance, from `dotnet new` to its own checks. The feature variables (realtime, users, sendsEmail, sqlite) say
# what it keeps, for the checks above.
instance() { # folder database options...
  local instance=$1 database=$2 dir="$work/$1"
  shift 2
  realtime=true users=true sendsEmail=true sqlite=true
  [[ " $* " == *" --realtime false "* ]] && realtime=false
  [[ " $* " == *" --users false "* ]] && users=false sendsEmail=false
  [[ " $* " == *" --email false "* ]] && sendsEmail=false
  [[ $database == postgres ]] && sqlite=false
  dotnet new monitored-api -n "$name" -o "$dir" --debug:custom-hive "$work/hive" --database "$database" "$@" > "$work/new.log" 2>&1 \
    || fail "dotnet new monitored-api --database $database $*: $(cat "$work/new.log")"
  check_no_leftovers "$dir"
  check_left_out "$dir"
  [[ -x $dir/test.sh && -x $dir/tools/add-migration.sh ]] || fail "$instance: test.sh or tools/add-migration.sh is not executable (the chmod post action did not run)"
  ok "$instance: instantiated (--database $database $*), no old names, nothing named of what it left out"
  [[ $instance == default ]] && check_api_words_kept "$dir" && ok "default: Api kept in keys, identifiers and job labels"
  [[ $which == names ]] && return
  local start=$SECONDS
  (cd "$dir" && dotnet build "$name.slnx" -warnaserror --nologo -v q > "$work/build.log" 2>&1) \
    || fail "$instance: build: $(grep -E 'error|Error' "$work/build.log" | sort -u | head -n 20)"
  ok "$instance: builds with warnings as errors ($((SECONDS - start)) s)"
  if [[ $database == postgres ]]; then
    grep -q '"Postgres": "Host=localhost;Port=5432' "$dir/src/$name/appsettings.json" && ! grep -q '"Sqlite"' "$dir/src/$name/appsettings.json" \
      || fail "$instance: appsettings.json does not default to PostgreSQL"
    start_postgres
    # The shipped default names localhost:5432; the test's server listens on a free port, so only the port is moved.
    check_answers "$dir" "ConnectionStrings__Postgres=Host=127.0.0.1;Port=$pg_port;Username=app;Database=$instance"
    [[ ! -e $dir/src/$name/data/app.db ]] || fail "$instance: made a SQLite file although its default database is PostgreSQL"
  else
    check_answers "$dir"
  fi
  ok "$instance: answers /, /health/ready, /metrics as $service on $database; /ws $([[ $realtime == true ]] && echo the hub || echo 404), /api/users $([[ $users == true ]] && echo "200, POST 201" || echo 404)"
  [[ $instance == default ]] || check_no_orphan_queries "$dir"
  check_own_checks "$dir" "$instance"
}

# The package a team installs: `dotnet pack` of tools/template/Template.csproj, holding the tree without what only this
# repository's development makes (build output, node_modules, benchmarks, databases and mail of local runs).
pack() {
  (cd "$root" && dotnet pack tools/template/Template.csproj -o "$work/pack" --nologo -v q > "$work/pack.log" 2>&1) \
    || fail "dotnet pack tools/template/Template.csproj: $(grep -E 'error|warn' "$work/pack.log" | sort -u | head -n 20)"
  nupkg=$(compgen -G "$work/pack/*.nupkg") || fail "dotnet pack wrote no .nupkg"
  local listing bad
  listing=$(python3 -c 'import sys, zipfile; print("\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))' "$nupkg")
  grep -qx 'content/.template.config/template.json' <<< "$listing" || fail "$nupkg holds no content/.template.config/template.json"
  grep -qx 'content/src/Api/Program.cs' <<< "$listing" || fail "$nupkg holds no content/src/Api/Program.cs"
  bad=$(grep -E '(^|/)(bin|obj|node_modules|TestResults)/|^content/(bench|tools/template|\.git)/|^content/src/Api/data/|\.db$' <<< "$listing" | head -n 5)
  [[ -z $bad ]] || fail "$nupkg holds files only this repository's development makes: $bad"
  ok "packed $(basename "$nupkg") ($(wc -l <<< "$listing") files, $(($(stat -c %s "$nupkg") / 1024)) KiB)"
}

if [[ $which == all || $which == pack ]]; then
  pack
  dotnet new install "$nupkg" --debug:custom-hive "$work/hive" > "$work/install.log" 2>&1 || fail "dotnet new install $nupkg: $(cat "$work/install.log")"
  ok "installed $(basename "$nupkg") into a throwaway hive"
  [[ $which == pack ]] && exit 0
else
  dotnet new install "$root" --debug:custom-hive "$work/hive" > "$work/install.log" 2>&1 || fail "dotnet new install: $(cat "$work/install.log")"
  ok "installed the folder into a throwaway hive"
fi

case $which in
  all) instance default sqlite; instance minimal postgres --users false --email false --realtime false ;;
  default) instance default sqlite ;;
  minimal) instance minimal postgres --users false --email false --realtime false ;;
  lean) instance lean postgres --realtime false ;;
  noemail) instance noemail sqlite --email false ;;
  names)
    instance default sqlite
    instance lean postgres --realtime false
    instance noemail sqlite --email false
    instance minimal postgres --users false --email false --realtime false ;;
  *) fail "unknown mode $which (default, minimal, lean, noemail, names, pack, or none for default and minimal)" ;;
esac
