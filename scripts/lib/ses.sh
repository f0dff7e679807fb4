# Sourced by scripts/test: the aws-ses-v2-local emulator, installed from npm into .local/ses
# (git-ignored) and started on a free loopback port.

source "$(dirname "${BASH_SOURCE[0]}")/versions.sh"

ses_install() {
  local dir=$PWD/.local/ses
  if [ ! -x "$dir/node_modules/.bin/aws-ses-v2-local" ]; then
    command -v npm >/dev/null || { echo "npm is needed for the SES emulator (apt-get install npm)" >&2; return 1; }
    mkdir -p "$dir"
    npm install --prefix "$dir" --no-audit --no-fund --loglevel=error "aws-ses-v2-local@$SES_LOCAL_VERSION" >/dev/null
  fi
}

# ses_start PORT: starts the emulator; sets SES_EMULATOR_URL and SES_PID.
ses_start() {
  local port=$1
  "$PWD/.local/ses/node_modules/.bin/aws-ses-v2-local" --host 127.0.0.1 --port "$port" >"$PWD/.local/ses/emulator.log" 2>&1 &
  SES_PID=$!
  SES_EMULATOR_URL="http://127.0.0.1:$port"
  for _ in $(seq 1 100); do
    curl -sf "$SES_EMULATOR_URL/health-check" >/dev/null 2>&1 && { export SES_EMULATOR_URL SES_PID; return 0; }
    sleep 0.1
  done
  cat "$PWD/.local/ses/emulator.log" >&2
  echo "the SES emulator did not start" >&2
  return 1
}
