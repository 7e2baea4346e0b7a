#!/usr/bin/env bash
# Build and test the web UI (web/), installing what it needs.
#
#   scripts/web.sh deps     npm ci, when package-lock.json changed since the last install
#   scripts/web.sh build    deps, then the production build into web/dist/app
#                           (skipped when no input changed since the last build)
#   scripts/web.sh test     deps, type check and the Vitest unit tests
#   scripts/web.sh e2e BIN  the Playwright end-to-end tests in headless Chromium
#                           against `BIN serve --embedded` (Chromium installed if missing)
#   scripts/web.sh chromium print the Chromium executable, installing it if missing
#
# Environment:
#   FACTFLOW_CACHE      npm's download cache lives under it (default ~/.cache/factflow)
#   FACTFLOW_CHROMIUM   Chromium executable to use instead of discovering one
#   FACTFLOW_SCREENSHOTS  directory the e2e run writes page screenshots to (default: none)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WEB=$ROOT/web
FACTFLOW_CACHE=${FACTFLOW_CACHE:-$HOME/.cache/factflow}
export npm_config_cache=$FACTFLOW_CACHE/npm
export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false
# Tests use the machine's Chromium; Playwright must never fetch its own.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

log() { printf '[web] %s\n' "$*" >&2; }
die() { printf '[web] error: %s\n' "$*" >&2; exit 1; }

need_node() {
  command -v node >/dev/null || die "the UI needs Node.js 20.19 or later (node not found)"
  command -v npm >/dev/null || die "the UI needs npm (not found)"
  local v major minor
  v=$(node -p 'process.versions.node')
  major=${v%%.*}; minor=${v#*.}; minor=${minor%%.*}
  if [ "$major" -lt 20 ] || { [ "$major" -eq 20 ] && [ "$minor" -lt 19 ]; }; then
    die "the UI needs Node.js 20.19 or later; found $v"
  fi
}

# hash_of prints one digest of the named files' contents and names.
hash_of() { (cd "$WEB" && find "$@" -type f -print0 2>/dev/null | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1); }

cmd_deps() {
  need_node
  local want have=""
  want=$(hash_of package.json package-lock.json)
  [ -f "$WEB/node_modules/.factflow-deps" ] && have=$(cat "$WEB/node_modules/.factflow-deps")
  if [ "$want" != "$have" ] || [ ! -d "$WEB/node_modules" ]; then
    log "npm ci (cache in $npm_config_cache)"
    (cd "$WEB" && npm ci --prefer-offline --no-audit --no-fund --loglevel=error)
    echo "$want" >"$WEB/node_modules/.factflow-deps"
  fi
}

cmd_build() {
  cmd_deps
  local want have=""
  want=$(hash_of src public index.html package-lock.json tsconfig.json vite.config.ts)
  [ -f "$WEB/dist/app/.factflow-build" ] && have=$(cat "$WEB/dist/app/.factflow-build")
  if [ "$want" = "$have" ] && [ -f "$WEB/dist/app/index.html" ]; then
    return 0
  fi
  log "building the UI into web/dist/app"
  (cd "$WEB" && npx tsc -p . && npx vite build --logLevel warn)
  echo "$want" >"$WEB/dist/app/.factflow-build"
}

cmd_test() {
  cmd_deps
  # The client's types must be those of the server's current OpenAPI document.
  local gen
  gen=$(mktemp --suffix=.d.ts)
  (cd "$WEB" && npx openapi-typescript ../server/api/testdata/openapi.json -o "$gen" >/dev/null 2>&1)
  if ! cmp -s "$gen" "$WEB/src/api/schema.d.ts"; then
    rm -f "$gen"
    die "web/src/api/schema.d.ts is out of date with the OpenAPI document: run (cd web && npm run gen:api)"
  fi
  rm -f "$gen"
  (cd "$WEB" && npx tsc -p . && npx tsc -p e2e && npx vitest run)
}

find_chromium() {
  if [ -n "${FACTFLOW_CHROMIUM:-}" ]; then
    [ -x "$FACTFLOW_CHROMIUM" ] || die "FACTFLOW_CHROMIUM=$FACTFLOW_CHROMIUM is not executable"
    echo "$FACTFLOW_CHROMIUM"; return
  fi
  local c
  for c in chromium chromium-browser google-chrome-stable google-chrome; do
    if command -v "$c" >/dev/null; then command -v "$c"; return; fi
  done
  return 1
}

cmd_chromium() {
  local c
  if c=$(find_chromium); then echo "$c"; return; fi
  [ "$(id -u)" -eq 0 ] || die "Chromium is missing and installing it needs root (apt-get install chromium), or set FACTFLOW_CHROMIUM"
  command -v apt-get >/dev/null || die "Chromium is missing and there is no apt-get; set FACTFLOW_CHROMIUM"
  log "apt-get install chromium"
  DEBIAN_FRONTEND=noninteractive apt-get -y -q -o DPkg::Lock::Timeout=600 update >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get -y -q -o DPkg::Lock::Timeout=600 install chromium >/dev/null
  find_chromium || die "chromium was installed but is not on PATH"
}

cmd_e2e() {
  local bin=${1:-}
  [ -n "$bin" ] || die "usage: scripts/web.sh e2e BIN"
  [ -x "$bin" ] || die "$bin is not an executable factflow binary (make build)"
  cmd_deps
  FACTFLOW_CHROMIUM=$(cmd_chromium)
  export FACTFLOW_CHROMIUM
  bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
  (cd "$WEB" && FACTFLOW_BIN=$bin npx playwright test)
}

case "${1:-}" in
  deps) cmd_deps ;;
  build) cmd_build ;;
  test) cmd_test ;;
  e2e) shift; cmd_e2e "$@" ;;
  chromium) cmd_chromium ;;
  *) die "usage: scripts/web.sh deps|build|test|e2e BIN|chromium" ;;
esac
