# A throwaway PostgreSQL for the bench scripts (fsync on, loopback); source it after lib.sh. It gives:
#   need_debian PACKAGE   installs a Debian package as root, else says how and exits
#   as_postgres CMD...    runs CMD as the postgres user when root (initdb refuses root), else as is
#   start_postgres MAX_CONNECTIONS [SETTING...]   initdb + start in $TMP/pg on a free port, stopped at exit; sets
#                         PG_BIN, PG_DATA, PG_PORT, PG_PID; extra settings as "-c name=value" arguments
#   psql_ ARGS...         psql as postgres on it, quiet, unaligned, stopping at the first error
need_debian() { # package
  if [[ $(id -u) -eq 0 ]]; then
    say "installing $1 (Debian package)"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq > /dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$1" > /dev/null
  else
    say "$1 is missing; install it with: sudo apt-get install -y --no-install-recommends $1"; exit 1
  fi
}
as_postgres() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
psql_() { psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -qAtX "$@"; }

start_postgres() { # max_connections [settings...]
  local max_connections=$1
  shift
  compgen -G "/usr/lib/postgresql/*/bin/initdb" > /dev/null || need_debian postgresql
  PG_BIN=$(dirname "$(compgen -G "/usr/lib/postgresql/*/bin/initdb" | sort -V | tail -n1)")
  PG_DATA=$TMP/pg PG_PORT=$(free_port)
  chmod 755 "$TMP"
  mkdir -p "$PG_DATA" && chown -R "$(id -u postgres 2> /dev/null || id -u)" "$PG_DATA" 2> /dev/null || true
  on_exit '[[ -f $PG_DATA/postmaster.pid ]] && as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate stop > /dev/null 2>&1'
  as_postgres "$PG_BIN/initdb" -D "$PG_DATA" -U postgres -A trust > "${OUT:-$TMP}/initdb.log" 2>&1
  as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_DATA/server.log" -w start -o \
    "-p $PG_PORT -k $PG_DATA -c listen_addresses=127.0.0.1 -c max_connections=$max_connections $*" > /dev/null
  PG_PID=$(head -n1 "$PG_DATA/postmaster.pid")
}
