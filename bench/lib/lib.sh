# Shared by the bench scripts; source it from the repository root. It gives:
#   TMP         a temporary folder, removed at exit
#   PIDS        servers to stop at exit (a stopped one is continued first); on_exit CMD adds a step run after that
#   say         a progress line on stderr, prefixed with $BENCH_NAME (default "bench")
#   free_port   a free TCP port on 127.0.0.1
#   wait_ready NAME URL [LOG_FOLDER]   waits up to 2 minutes for URL to answer 2xx, else prints LOG_FOLDER/NAME.log and exits
#   rotated N ITEM...   the items rotated left by N, one per line (round N starts with another item)
#   reversed ITEM...    the items last to first, one per line (even rounds run backwards)
#   bench_args ARG...   a feature script's arguments: --quick sets QUICK=1, any other is the OUT folder
TMP=$(mktemp -d)
PIDS=()
EXIT_STEPS=()
on_exit() { EXIT_STEPS+=("$*"); }
bench_cleanup() {
  local step pid
  for pid in "${PIDS[@]}"; do
    kill -CONT "$pid" 2> /dev/null || true # a SIGSTOPped server acts on the kill only once continued
    kill "$pid" 2> /dev/null || true
  done
  wait 2> /dev/null || true
  # After the servers: a database stopped under a running app fills its log with errors that are not the app's.
  for step in "${EXIT_STEPS[@]}"; do eval "$step" || true; done
  rm -rf "$TMP"
}
trap bench_cleanup EXIT
say() { echo "${BENCH_NAME:-bench}: $*" >&2; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_ready() { # name url [log folder]
  for _ in $(seq 1 600); do # several servers may start at once on 2 cores
    curl -sf -o /dev/null "$2" && return 0
    sleep 0.2
  done
  say "$1 did not answer on $2; its log:"; tail -n 30 "${3:-$TMP}/$1.log" >&2; exit 1
}
rotated() { # n items...
  local n=$1 i
  shift
  for ((i = 0; i < $#; i++)); do echo "${@:(i + n) % $# + 1:1}"; done
}
reversed() { # items...
  local i
  for ((i = $#; i >= 1; i--)); do echo "${!i}"; done
}
bench_args() {
  local arg
  QUICK=0 OUT=""
  for arg in "$@"; do
    case $arg in
      --quick) QUICK=1 ;;
      *) OUT=$arg ;;
    esac
  done
}
