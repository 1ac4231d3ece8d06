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

# --- Suites. Each adds its counts; a suite that cannot run at all counts as one failure. ----------------------------
passed=0
failed=0
record() { # name passed failed
  echo "test.sh: $1: $2 passed, $3 failed"
  passed=$((passed + $2))
  failed=$((failed + $3))
}

run_dotnet_tests() {
  local log
  log=$(mktemp)
  dotnet test Backend.slnx --nologo 2>&1 | tee "$log"
  local summary
  summary=$(grep -E 'Failed:[[:space:]]+[0-9]+, Passed:[[:space:]]+[0-9]+' "$log" | tail -n 1)
  if [[ -z "$summary" ]]; then
    record "dotnet test" 0 1
  else
    record "dotnet test" \
      "$(sed -E 's/.*Passed:[[:space:]]+([0-9]+).*/\1/' <<< "$summary")" \
      "$(sed -E 's/.*Failed:[[:space:]]+([0-9]+),.*/\1/' <<< "$summary")"
  fi
  rm -f "$log"
}

run_dotnet_tests

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
