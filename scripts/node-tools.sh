#!/usr/bin/env bash
# Installs the node tools pinned by web/package-lock.json into web/node_modules when missing or
# stale (npm ci): binaryen's wasm-opt (the guests, scripts/build-guest.sh, and the browser glue,
# scripts/build-web.sh), esbuild and playwright-core (the browser host). Node and npm come from
# Debian (apt) when missing. Sourced by the build scripts from the repository root.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
if [ ! -x web/node_modules/.bin/wasm-opt ] || [ ! -x web/node_modules/.bin/esbuild ] ||
    ! cmp -s web/package-lock.json web/node_modules/.package-lock.json.src 2>/dev/null; then
    (cd web && npm ci --no-audit --no-fund --loglevel=error && cp package-lock.json node_modules/.package-lock.json.src)
fi
