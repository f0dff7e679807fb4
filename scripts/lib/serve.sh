# Sourced by scripts that run the API against a fresh database (walkthrough, postman,
# lambda-flow). Needs scripts/lib/pg.sh and TEST_DATABASE_URL.
#   serve_db NAME            creates database NAME; sets SERVE_DB and DATABASE_URL (keeping
#                            TEST_DATABASE_URL's query parameters)
#   serve_start LOG [VAR=VALUE...]
#                            runs `identity serve` on a free port with a new signing key and
#                            the given settings, output to LOG; sets SERVE_URL (without any
#                            API_BASE_PATH given) and SERVE_PID
#   serve_wait URL [SECONDS] waits until URL/health answers
#   serve_cleanup            stops the server and drops the database (for an EXIT trap)

SERVE_DB=
SERVE_PID=

serve_db() {
  : "${TEST_DATABASE_URL:?set TEST_DATABASE_URL}"
  SERVE_DB=$1
  "$PG_BIN/psql" "$TEST_DATABASE_URL" -qc "CREATE DATABASE $SERVE_DB" >/dev/null
  # The database name replaced, query parameters (sslmode, sslrootcert) kept.
  local base=${TEST_DATABASE_URL%%\?*}
  export DATABASE_URL="${base%/*}/$SERVE_DB${TEST_DATABASE_URL#"$base"}"
}

serve_start() {
  local log=$1 port
  shift
  port=$(pg_free_port)
  cargo build -q -p identity-cli
  local keys
  mapfile -t keys < <(target/debug/identity keygen --alg EdDSA --alg RS256 2>/dev/null)
  # Claimed domains are looked up at the tests' DNS server when one runs, else at a port where
  # nothing answers: never beyond this machine.
  env PORT="$port" DOMAIN_DNS_SERVER="${DNS_TEST_SERVER:-127.0.0.1:9}" "${keys[@]}" "$@" target/debug/identity serve \
    >"$log" 2>&1 &
  SERVE_PID=$!
  SERVE_URL="http://127.0.0.1:$port"
  # Under API_BASE_PATH the routes, /health among them, are served below it.
  local base= arg
  for arg in "$@"; do
    case $arg in API_BASE_PATH=*) base=${arg#API_BASE_PATH=} ;; esac
  done
  serve_wait "$SERVE_URL$base" 20
}

serve_wait() {
  local url=$1 tries=$(( ${2:-60} * 5 ))
  for _ in $(seq 1 "$tries"); do
    curl -sf "$url/health" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "no answer from $url/health" >&2
  return 1
}

serve_cleanup() {
  if [ -n "$SERVE_PID" ]; then kill "$SERVE_PID" 2>/dev/null; wait "$SERVE_PID" 2>/dev/null || true; fi
  if [ -n "$SERVE_DB" ]; then
    "$PG_BIN/psql" "$TEST_DATABASE_URL" -qc "DROP DATABASE IF EXISTS $SERVE_DB WITH (FORCE)" >/dev/null || true
  fi
}
