#!/usr/bin/env bash
# Install the web map's browser files (Leaflet, VectorGrid, Photo Sphere Viewer, three, the
# Arabic font; Chart.js for /dashboard) into webmap/node_modules from webmap/package-lock.json (`npm ci`, exact versions,
# no install scripts). The server serves them itself: the map needs no CDN.
# Idempotent: a no-op while package-lock.json is unchanged and node_modules is in place.
set -euo pipefail
cd "$(dirname "$0")"
stamp=node_modules/.amanat-assets
want=$(sha256sum package-lock.json | cut -c1-16)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@" || sudo "$@"; fi; }
  echo "amanat: installing npm (for the web map's browser files)" >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >&2 || {
    as_root apt-get update -qq >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >&2
  }
fi
echo "amanat: installing the web map's browser files (npm ci)"
npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
echo "$want" > "$stamp"
