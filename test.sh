#!/usr/bin/env bash
# Runs every test suite of the project and ends with one line: "N passed, N failed".
# Installs what the tests need when it is missing (Debian packages, as root); the tests themselves start and stop
# every server they use, on 127.0.0.1, with free ports and temporary folders.
set -uo pipefail
cd "$(dirname "$0")"

# --- What the tests need: a binary to look for, and the Debian package that provides it. ---------------------------
declare -A NEEDS=(
  ["/usr/lib/postgresql/*/bin/initdb"]="postgresql"
  ["redis-server"]="redis-server"
  ["prometheus"]="prometheus"
  ["promtool"]="prometheus"
  ["prometheus-alertmanager"]="prometheus-alertmanager"
  ["amtool"]="prometheus-alertmanager"
  ["prometheus-node-exporter"]="prometheus-node-exporter"
  ["prometheus-postgres-exporter"]="prometheus-postgres-exporter"
  ["prometheus-redis-exporter"]="prometheus-redis-exporter"
  ["docker-compose"]="docker-compose"
  ["victoria-metrics"]="victoria-metrics"
  ["chromium"]="chromium"
  ["npm"]="npm"
  ["haproxy"]="haproxy"
  # tools/template/check.sh asks the instances it starts over HTTP and picks their free ports with Python.
  ["curl"]="curl"
  ["python3"]="python3"
  # kubectl renders deploy/kubernetes (its built-in Kustomize); Debian 12 has no package of it: this name is the one
  # Kubernetes' and Google Cloud's apt repositories use.
  ["kubectl"]="kubectl"
)

missing=()
for binary in "${!NEEDS[@]}"; do
  if [[ "$binary" == /* ]]; then
    compgen -G "$binary" > /dev/null || missing+=("${NEEDS[$binary]}")
  else
    command -v "$binary" > /dev/null || missing+=("${NEEDS[$binary]}")
  fi
done

if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]]; then
    echo "test.sh: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq > /dev/null
    # --no-install-recommends: otherwise docker-compose pulls in docker.io and the exporters pull in smartmontools.
    apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null || echo "test.sh: apt-get install failed" >&2
  else
    echo "test.sh: missing ${missing[*]}; install with: sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  fi
fi

# Node tools the tests run: Redocly CLI lints the served OpenAPI document (ApiDocsTests), the SignalR JavaScript client
# runs README's snippet (JavaScriptClientTests); each pinned by its package-lock.json and installed again whenever that
# lock file changes (a copy of the installed one stays beside the modules).
for lint in tools/openapi-lint tests/signalr-js; do
  if ! cmp -s "$lint/package-lock.json" "$lint/node_modules/.installed-package-lock.json"; then
    if command -v npm > /dev/null && npm ci --prefix "$lint" --no-audit --no-fund > /dev/null; then
      cp "$lint/package-lock.json" "$lint/node_modules/.installed-package-lock.json"
    else
      echo "test.sh: npm ci in $lint failed; it needs Node.js 20+ and npm (Debian: apt-get install -y nodejs npm)" >&2
    fi
  fi
done
# The local .NET tools (dotnet-ef, for tools/add-migration.sh), pinned by .config/dotnet-tools.json.
dotnet tool restore > /dev/null || echo "test.sh: dotnet tool restore failed" >&2
# The manifest validator and generator of deploy/kubernetes, the same way (tools/kubernetes/install.sh).
tools/kubernetes/install.sh || echo "test.sh: installing tools/kubernetes failed" >&2

# --- Suites. Each adds its counts; a suite that cannot run at all counts as one failure. ----------------------------
# Counts go to a file, so that suites run in the background (a subshell) add theirs too.
counts=$(mktemp)
record() { # name passed failed started-at ($EPOCHREALTIME)
  local seconds
  seconds=$(awk -v start="$4" -v now="$EPOCHREALTIME" 'BEGIN { printf "%.1f", now - start }')
  echo "test.sh: $1: $2 passed, $3 failed (${seconds} s)"
  echo "$2 $3" >> "$counts"
}

run_dotnet_tests() {
  local log started=$EPOCHREALTIME
  log=$(mktemp)
  # The test host stops the servers it shares across the run (PostgreSQL) as it exits; vstest kills a test host still
  # running 100 ms after the run, so give it the time.
  VSTEST_TESTHOST_SHUTDOWN_TIMEOUT=10000 dotnet test Backend.slnx --nologo --no-build 2>&1 | tee "$log"
  local summary
  summary=$(grep -E 'Failed:[[:space:]]+[0-9]+, Passed:[[:space:]]+[0-9]+' "$log" | tail -n 1)
  if [[ -z "$summary" ]]; then
    record "dotnet test" 0 1 "$started"
  else
    record "dotnet test" \
      "$(sed -E 's/.*Passed:[[:space:]]+([0-9]+).*/\1/' <<< "$summary")" \
      "$(sed -E 's/.*Failed:[[:space:]]+([0-9]+),.*/\1/' <<< "$summary")" "$started"
  fi
  rm -f "$log"
}

# The monitoring configuration, checked by the tools that load it (no server, no Docker engine needed).
run_check() { # name command...
  local name=$1 started=$EPOCHREALTIME
  shift
  local output
  if output=$("$@" 2>&1); then
    record "$name" 1 0 "$started"
  else
    echo "$output" >&2
    record "$name" 0 1 "$started"
  fi
}

run_monitoring_checks() {
  local env_file
  env_file=$(mktemp)
  # A throwaway env file: every variable docker-compose.yml requires, with dummy values.
  printf '%s\n' GRAFANA_ADMIN_PASSWORD=x METRICS_API_KEY=x POSTGRES_PASSWORD=x > "$env_file"
  run_check "docker-compose config" docker-compose --env-file "$env_file" --profile app config -q
  run_check "docker-compose config (API_TARGET=host)" env API_TARGET=host docker-compose --env-file "$env_file" config -q
  run_check "docker-compose config (--profile ha)" env API_TARGET=ha docker-compose --env-file "$env_file" --profile app --profile ha config -q
  rm -f "$env_file"
  # .env.example leaves every secret empty, so a copy nobody filled in stops `docker-compose config` with the name.
  run_check "docker-compose refuses .env.example's empty secrets" bash -c \
    'out=$(docker-compose --env-file .env.example --profile app config -q 2>&1) && exit 1; grep -q "in .env" <<< "$out"'
  # --syntax-only: the scrape key file exists only inside the container; the end-to-end test (Monitoring/) loads the
  # whole configuration, key file and rules included, into a real Prometheus.
  run_check "promtool check config" promtool check config --syntax-only prometheus/prometheus.yml
  # What the ha replicas load: prometheus.yml with the shape's remote_write appended (docker-compose.yml's entrypoint).
  local ha_config
  ha_config=$(mktemp --suffix=.yml)
  cat prometheus/prometheus.yml prometheus/targets/ha/remote-write.yml > "$ha_config"
  run_check "promtool check config (ha)" promtool check config --syntax-only "$ha_config"
  rm -f "$ha_config"
  run_check "promtool check rules" promtool check rules prometheus/alerts.yml
  # `promtool test rules prometheus/*.test.yml` on the unmutated rules is the mutation check's first step (below).
  run_check "amtool check-config" amtool check-config alertmanager/alertmanager.yml
  run_check "promtool test rules, rendered for job=\"orders\",namespace=\"shop\"" check_rendered_rules 'job="orders",namespace="shop"'
}

# The rules and their tests rendered for a platform's selector (tools/rules/render-rules.sh) pass the same tests.
check_rendered_rules() { # selector
  local dir status=0
  dir=$(mktemp -d)
  tools/rules/render-rules.sh --selector "$1" prometheus/alerts.yml > "$dir/alerts.yml" || status=1
  tools/rules/render-rule-tests.sh --selector "$1" "$dir" || status=1
  if ((status == 0)) && ! grep -q "$1" "$dir/alerts.yml"; then
    echo "render-rules.sh left alerts.yml without the selector $1" >&2
    status=1
  fi
  ((status == 0)) && (cd "$dir" && promtool test rules ./*.test.yml) || status=1
  rm -rf "$dir"
  return $status
}

# The unit tests pass on alerts.yml as it is, and every small change to one of its rules fails one; prints
# "N mutants, N killed" or names the survivors.
run_mutation_check() {
  local output started=$EPOCHREALTIME
  if output=$(dotnet run tools/rules/mutate-rules.cs 2>&1); then
    tail -n 1 <<< "$output"
    record "promtool test rules, and the mutation test of alerts.yml" 1 0 "$started"
  else
    echo "$output" >&2
    record "promtool test rules, and the mutation test of alerts.yml" 0 1 "$started"
  fi
}

run_kubernetes_checks() {
  run_check "kubernetes: generated files up to date" tools/kubernetes/check.sh generated
  run_check "kubernetes: overlays render and validate" tools/kubernetes/check.sh schemas
  run_check "kubernetes: PrometheusRule passes the rule tests" tools/kubernetes/check.sh rules
  run_check "kubernetes: bad manifests fail the validation" tools/kubernetes/check.sh bad-manifests
}

# The checks that need no build of the solution run in the background while dotnet test runs (which mostly waits on
# servers, scrapes and timers), niced so that the tests' readiness polls get the CPU first; their output is held and
# printed, in order, after dotnet test's. The build runs first, alone: it is the CPU-heaviest step.
run_checks() {
  # The core docs are read in one sitting: together under 75 KiB (DEVELOPERS' rule); recipes replace prose.
  run_check "core docs under 75 KiB" bash -c \
    'size=$(cat README.md MONITORING.md RUNBOOKS.md GRAFANA_SETUP.md GRAFANA_SETUP.ko.md BENCHMARKS.md | wc -c); echo "core docs: $size bytes"; ((size < 76800))'
  run_monitoring_checks
  run_mutation_check
  run_kubernetes_checks
}

# The checks that build and start copies of the project: beside dotnet test too, in a second chain, niced like the
# first, so they take the CPU the tests leave idle (dotnet test keeps about two thirds of the two cores busy).
run_copy_checks() {
  # The recipes as a reader follows them: every ```bash run block of the docs, in a scratch copy of the repository.
  run_check "doc commands run" tools/docs/run-doc-commands.sh \
    README.md MONITORING.md RUNBOOKS.md GRAFANA_SETUP.md GRAFANA_SETUP.ko.md BENCHMARKS.md docs/RECIPES.md
#if (repositoryDevelopment)
  # The `dotnet new` template made from this repository: two instances built, started and checked (an instance made
  # from it has no template of its own, so its test.sh has no such line).
  run_check "dotnet new template: instances build, start and pass their own checks" tools/template/check.sh
#endif
}

started=$EPOCHREALTIME
if dotnet build Backend.slnx --nologo -v q; then
  record "dotnet build" 1 0 "$started"
  checks_output=$(mktemp)
  copy_checks_output=$(mktemp)
  (renice -n 10 -p "$BASHPID" > /dev/null; run_checks) > "$checks_output" 2>&1 &
  checks=$!
  (renice -n 10 -p "$BASHPID" > /dev/null; run_copy_checks) > "$copy_checks_output" 2>&1 &
  copy_checks=$!
  run_dotnet_tests
  wait "$checks" "$copy_checks" || true
  echo "test.sh: the checks that ran beside dotnet test:"
  cat "$checks_output" "$copy_checks_output"
  rm -f "$checks_output" "$copy_checks_output"
else
  record "dotnet build" 0 1 "$started"
  run_checks
fi

read -r passed failed < <(awk '{ p += $1; f += $2 } END { print p + 0, f + 0 }' "$counts")
rm -f "$counts"
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
