# Sourced by scripts/test (after ses.sh): moto's server as a local Secrets Manager, installed
# from PyPI into .local/moto (git-ignored) and started on a free loopback port.

source "$(dirname "${BASH_SOURCE[0]}")/versions.sh"

secrets_install() {
  local venv=$PWD/.local/moto
  if [ ! -x "$venv/bin/moto_server" ] || [ "$(cat "$venv/.pins" 2>/dev/null)" != "$MOTO_VERSION" ]; then
    echo "== installing moto[server]==$MOTO_VERSION into .local/moto (a local Secrets Manager)"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
    echo "$MOTO_VERSION" >"$venv/.pins"
  fi
}

# secrets_start PORT: starts the server; sets SECRETS_EMULATOR_URL and SECRETS_PID.
secrets_start() {
  local port=$1
  "$PWD/.local/moto/bin/moto_server" -H 127.0.0.1 -p "$port" >"$PWD/.local/moto/server.log" 2>&1 &
  SECRETS_PID=$!
  SECRETS_EMULATOR_URL="http://127.0.0.1:$port"
  for _ in $(seq 1 150); do
    curl -sf "$SECRETS_EMULATOR_URL/moto-api/" >/dev/null 2>&1 && { export SECRETS_EMULATOR_URL SECRETS_PID; return 0; }
    sleep 0.1
  done
  cat "$PWD/.local/moto/server.log" >&2
  echo "the moto server did not start" >&2
  return 1
}
