#!/usr/bin/env bash
# Debian packages the tests use: PostgreSQL and Redis (private instances started by the tests)
# and Chromium (browser tests). Installs only what is missing; needs root or sudo.
set -euo pipefail

packages=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || packages+=(postgresql)
[ -x /usr/bin/redis-server ] || packages+=(redis-server)
[ -x /usr/bin/chromium ] || packages+=(chromium)

if [ ${#packages[@]} -eq 0 ]; then
  echo "system packages: all present"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "system packages: apt-get not found; install ${packages[*]} yourself, or the tests that need them will say they are skipped" >&2
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "system packages: installing ${packages[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${packages[@]}"
