# Sourced by scripts/test and scripts/security (after pg.sh, ses.sh, secrets.sh and dns.sh):
# PostgreSQL, the SES emulator, a local Secrets Manager and a DNS server for tests, started
# unless TEST_DATABASE_URL / DATABASE_URL, SES_EMULATOR_URL, SECRETS_EMULATOR_URL and
# DNS_TEST_SERVER name running ones.
# services_cleanup (for an EXIT trap) stops what services_start started.

SERVICES_PG_DIR=
SES_PID=
SECRETS_PID=

services_start() {
  if [ -z "${TEST_DATABASE_URL:-}" ] && [ -z "${DATABASE_URL:-}" ]; then
    SERVICES_PG_DIR="$PWD/.local/pg-${1:-test}"
    pg_stop "$SERVICES_PG_DIR"
    pg_remove "$SERVICES_PG_DIR"
    # A throwaway cluster needs no durability; fsync off makes per-test databases cheap.
    PG_FSYNC=off pg_start "$SERVICES_PG_DIR" "$(pg_free_port)"
    export TEST_DATABASE_URL="$PG_URL_BASE/postgres"
  fi
  export TEST_DATABASE_URL="${TEST_DATABASE_URL:-$DATABASE_URL}"
  echo "== PostgreSQL for tests: $TEST_DATABASE_URL"
  if [ -z "${SES_EMULATOR_URL:-}" ]; then
    ses_install
    ses_start "$(pg_free_port)"
  fi
  echo "== SES emulator: $SES_EMULATOR_URL"
  if [ -z "${SECRETS_EMULATOR_URL:-}" ]; then
    secrets_install
    secrets_start "$(pg_free_port)"
  fi
  echo "== Secrets Manager (moto): $SECRETS_EMULATOR_URL"
  if [ -z "${DNS_TEST_SERVER:-}" ]; then
    dns_install
    dns_start "$(pg_free_port)"
  fi
  echo "== DNS server for the domain tests: $DNS_TEST_SERVER"
}

services_cleanup() {
  if [ -n "$SES_PID" ]; then kill "$SES_PID" 2>/dev/null || true; fi
  if [ -n "$SECRETS_PID" ]; then kill "$SECRETS_PID" 2>/dev/null || true; fi
  if [ -n "$DNS_PID" ]; then kill "$DNS_PID" 2>/dev/null || true; fi
  if [ -n "$SERVICES_PG_DIR" ]; then pg_stop "$SERVICES_PG_DIR"; pg_remove "$SERVICES_PG_DIR"; fi
}

# The tests scripts/security runs (a nextest filter): the security binary, and the outage
# tests of the API suite (database refusing or silent, SES down).
SECURITY_TESTS='binary(security) | test(/^database::|^matrix::(every_org_route|with_org_a_requiring_mfa)|an_ses_outage/)'
