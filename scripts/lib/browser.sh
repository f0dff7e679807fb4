# Sourced by scripts/test: Debian's Chromium and ChromeDriver, which the `browser` tests drive
# headless over WebDriver. Installed with apt where missing (CI runs as root).
#   browser_install   installs them if /usr/bin/chromedriver is missing; prints the versions

browser_install() {
  if [ ! -x "${CHROMEDRIVER:-/usr/bin/chromedriver}" ]; then
    echo "== installing chromium and chromium-driver (apt)"
    local sudo=
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver >/dev/null
  fi
  echo "== browser: $("${CHROMIUM:-/usr/bin/chromium}" --version 2>/dev/null), $("${CHROMEDRIVER:-/usr/bin/chromedriver}" --version | cut -d' ' -f1-2)"
}
