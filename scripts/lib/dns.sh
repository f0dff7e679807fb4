# Sourced by scripts/test (through services.sh): a small DNS server for the domain tests
# (scripts/lib/dns_server.py, on PyPI's dnslib, pinned, in .local/dns) on a loopback port. It
# answers from files the tests write under DNS_TEST_RECORDS.

source "$(dirname "${BASH_SOURCE[0]}")/versions.sh"
DNS_PINS="dnslib==$DNSLIB_VERSION"
DNS_PID=

dns_install() {
  local dir=$PWD/.local/dns
  if [ ! -f "$dir/.pins" ] || [ "$(cat "$dir/.pins")" != "$DNS_PINS" ]; then
    echo "== installing $DNS_PINS into .local/dns"
    rm -rf "$dir"
    python3 -m venv "$dir/venv"
    "$dir/venv/bin/pip" install --quiet --disable-pip-version-check "$DNS_PINS"
    echo "$DNS_PINS" >"$dir/.pins"
  fi
}

# dns_start PORT [RECORDS_DIR]: starts the server answering from RECORDS_DIR (.local/dns/records
# by default); sets DNS_TEST_SERVER (address:port), DNS_TEST_RECORDS and DNS_PID.
dns_start() {
  local port=$1 dir=$PWD/.local/dns
  DNS_TEST_RECORDS="${2:-$dir/records}"
  rm -rf "$DNS_TEST_RECORDS"
  mkdir -p "$DNS_TEST_RECORDS"
  "$dir/venv/bin/python" "$(dirname "${BASH_SOURCE[0]}")/dns_server.py" "$port" "$DNS_TEST_RECORDS" \
    >"$DNS_TEST_RECORDS.log" 2>&1 &
  DNS_PID=$!
  DNS_TEST_SERVER="127.0.0.1:$port"
  for _ in $(seq 1 100); do
    grep -q "dns test server" "$DNS_TEST_RECORDS.log" 2>/dev/null && { export DNS_TEST_SERVER DNS_TEST_RECORDS DNS_PID; return 0; }
    sleep 0.1
  done
  cat "$DNS_TEST_RECORDS.log" >&2
  echo "the DNS test server did not start" >&2
  return 1
}
