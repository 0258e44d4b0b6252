#!/usr/bin/env bash
# Debian tools the test suite drives as real clients: GDAL's ogrinfo (OAPIF driver) and
# chromium for the web map (driven by Playwright; never a browser Playwright downloads).
# Installed once; a no-op when present.
set -euo pipefail
missing=()
command -v ogrinfo >/dev/null 2>&1 || missing+=(gdal-bin)
command -v chromium >/dev/null 2>&1 || missing+=(chromium fonts-liberation)   # web map tests (Playwright)
[ ${#missing[@]} -eq 0 ] && exit 0
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@" || sudo "$@"; fi; }
echo "amanat: installing test tools: ${missing[*]}" >&2
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 || {
  as_root apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}
