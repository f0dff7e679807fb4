# Sourced by scripts/dev and scripts/test: a private PostgreSQL cluster from the system binaries.
# pg_start DIR PORT starts (creating if needed) a cluster in DIR listening on 127.0.0.1:PORT and
# sets PG_URL_BASE=postgres://postgres@127.0.0.1:PORT. PG_FSYNC=off and PG_EXTRA_OPTS (more
# server -c settings) tune a new start. initdb and postgres refuse to run as root,
# so as root they run as the postgres user, on a folder it owns.

PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}

pg_as_owner() {
  if [ "$(id -u)" = 0 ]; then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

pg_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

pg_start() {
  local dir=$1 port=$2
  if [ -L "$dir" ]; then
    if [ -d "$(readlink -f "$dir")" ]; then dir=$(readlink -f "$dir"); else rm -f "$dir"; fi
  fi
  if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/initdb" ]; then
    echo "PostgreSQL server binaries not found (looked in /usr/lib/postgresql/*/bin)." >&2
    echo "Install them (apt-get install postgresql) or set DATABASE_URL." >&2
    return 1
  fi
  mkdir -p "$dir"
  if [ "$(id -u)" = 0 ]; then
    chown postgres:postgres "$dir"
    # The postgres user must reach the folder through every parent; where a parent is closed
    # to it (a checkout under /root), the cluster lives in /tmp and $dir links to it.
    if ! runuser -u postgres -- test -w "$dir"; then
      local outside
      outside=$(mktemp -d /tmp/identity-pg.XXXXXX)
      chown postgres:postgres "$outside"
      rmdir "$dir" 2>/dev/null || rm -rf "$dir"
      ln -s "$outside" "$dir"
      echo "note: the postgres user cannot reach $(dirname "$dir"); cluster data is in $outside" >&2
      dir=$outside
    fi
  fi
  if [ ! -f "$dir/PG_VERSION" ]; then
    pg_as_owner "$PG_BIN/initdb" -D "$dir" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$dir.initdb.log" 2>&1 \
      || pg_as_owner "$PG_BIN/initdb" -D "$dir" -U postgres --auth=trust --encoding=UTF8 --no-locale >"$dir.initdb.log" 2>&1 \
      || { cat "$dir.initdb.log" >&2; return 1; }
  fi
  if ! pg_as_owner "$PG_BIN/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
    pg_as_owner "$PG_BIN/pg_ctl" -D "$dir" -w -t 30 -l "$dir/server.log" \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=300 -c fsync=${PG_FSYNC:-on} -c shared_buffers=128MB ${PG_EXTRA_OPTS:-}" \
      start >/dev/null || { tail -20 "$dir/server.log" >&2; return 1; }
  fi
  port=$(sed -n 4p "$dir/postmaster.pid")
  PG_URL_BASE="postgres://postgres@127.0.0.1:$port"
  export PG_URL_BASE
}

pg_stop() {
  local dir
  dir=$(readlink -f "$1") || return 0
  [ -f "$dir/postmaster.pid" ] && pg_as_owner "$PG_BIN/pg_ctl" -D "$dir" -m fast -w stop >/dev/null 2>&1
  return 0
}

# pg_create_db URL_BASE NAME: creates the database if it does not exist.
pg_create_db() {
  local base=$1 name=$2
  if ! "$PG_BIN/psql" "$base/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname = '$name'" | grep -q 1; then
    "$PG_BIN/psql" "$base/postgres" -qc "CREATE DATABASE \"$name\"" >/dev/null
  fi
}

# pg_remove DIR: deletes a stopped cluster's data, following the link to /tmp if there is one.
pg_remove() {
  local dir=$1
  if [ -L "$dir" ]; then
    local target
    target=$(readlink -f "$dir")
    rm -rf "$target" "$target.initdb.log"
  fi
  rm -rf "$dir" "$dir.initdb.log"
}

# pg_make_ca DIR NAME: a self-signed CA (NAME.crt, NAME.key) in DIR, for tests.
pg_make_ca() {
  (cd "$1" && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -keyout "$2.key" -out "$2.crt" -subj "/CN=identity test $2" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null)
}

# pg_start_tls DIR PORT: like pg_start, for a cluster that speaks only TLS (ssl=on, a
# hostssl-only pg_hba) with a CA and a server certificate for localhost made here with
# openssl; sets PG_TLS_CA (the CA file) and PG_TLS_URL_BASE (a URL base through localhost).
pg_start_tls() {
  local dir=$1 port=$2 certs
  certs=$(mktemp -d /tmp/identity-tls.XXXXXX)
  pg_make_ca "$certs" ca
  (
    cd "$certs"
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server.key -out server.csr \
      -subj "/CN=localhost" 2>/dev/null
    printf 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >server.ext
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -out server.crt \
      -extfile server.ext 2>/dev/null
    # Plain TCP has no entry, so a connection without TLS is refused.
    printf 'local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostssl all all ::1/128 trust\n' >pg_hba.conf
    # The server reads its key only if no one else can; as root it runs as postgres.
    chmod 600 server.key
    chmod 755 .
    if [ "$(id -u)" = 0 ]; then chown -R postgres "$certs"; fi
  )
  PG_EXTRA_OPTS="-c ssl=on -c ssl_cert_file=$certs/server.crt -c ssl_key_file=$certs/server.key -c hba_file=$certs/pg_hba.conf" \
    pg_start "$dir" "$port"
  PG_TLS_CA="$certs/ca.crt"
  PG_TLS_URL_BASE="postgres://postgres@localhost:$(sed -n 4p "$(readlink -f "$dir")/postmaster.pid")"
  export PG_TLS_CA PG_TLS_URL_BASE
}
