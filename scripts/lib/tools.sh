# Sourced by scripts: Python tools from PyPI in a git-ignored virtualenv (.local/venv):
# cargo-lambda (with zig), aws-sam-cli and cfn-lint. Installed once, then reused.

TOOLS_VENV="$PWD/.local/venv"
source "$(dirname "${BASH_SOURCE[0]}")/versions.sh"
TOOLS_PINS="cargo-lambda==$CARGO_LAMBDA_VERSION aws-sam-cli==$AWS_SAM_CLI_VERSION cfn-lint==$CFN_LINT_VERSION"

tools_install() {
  if [ ! -f "$TOOLS_VENV/.pins" ] || [ "$(cat "$TOOLS_VENV/.pins")" != "$TOOLS_PINS" ]; then
    echo "== installing $TOOLS_PINS into .local/venv"
    python3 -m venv "$TOOLS_VENV"
    # shellcheck disable=SC2086
    "$TOOLS_VENV/bin/pip" install --quiet --disable-pip-version-check $TOOLS_PINS
    echo "$TOOLS_PINS" >"$TOOLS_VENV/.pins"
  fi
  export PATH="$TOOLS_VENV/bin:$PATH"
  export SAM_CLI_TELEMETRY=0
}

# The Lambda target: arm64 when its standard library can be had, else x86_64 (said aloud).
lambda_arch() {
  if rustup target list --installed 2>/dev/null | grep -q '^aarch64-unknown-linux-gnu$' \
    || timeout 180 rustup target add aarch64-unknown-linux-gnu >/dev/null 2>&1; then
    echo arm64
  else
    echo "note: the aarch64 standard library cannot be fetched here; building x86_64 instead" >&2
    echo x86_64
  fi
}

# The Lambda Runtime Interface Emulator the aws-sam-cli wheel ships (AWS's aws-lambda-rie), for
# this machine's architecture; exported as LAMBDA_RIE for the tests that run built functions.
rie_export() {
  local arch
  case "$(uname -m)" in
    aarch64 | arm64) arch=arm64 ;;
    *) arch=x86_64 ;;
  esac
  LAMBDA_RIE=$(echo "$TOOLS_VENV"/lib/python3*/site-packages/samcli/local/rapid/aws-lambda-rie-$arch)
  [ -x "$LAMBDA_RIE" ] || { echo "no aws-lambda-rie in the aws-sam-cli wheel at $LAMBDA_RIE" >&2; return 1; }
  export LAMBDA_RIE
}
