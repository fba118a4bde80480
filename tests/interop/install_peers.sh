#!/usr/bin/env bash
# Installs the official MCP peers that the interop suite drives, into $MCP_REF_PEERS
# (default /tmp/mcp_ref_peers). None of them is a dependency of mcp_ref: they are the
# implementations nobody here wrote, against which mcp_ref is checked.
#   Python SDK (PyPI `mcp`)              -> $MCP_REF_PEERS/venv/bin/python
#   TypeScript SDK + server-everything   -> $MCP_REF_PEERS/node/node_modules
# Pinned versions, so a run is reproducible. Idempotent.
set -euo pipefail
P=${MCP_REF_PEERS:-/tmp/mcp_ref_peers}
mkdir -p "$P"
[ -x "$P/venv/bin/python" ] || python3 -m venv "$P/venv"
"$P/venv/bin/python" -m pip install -q "mcp==2.3.0"
mkdir -p "$P/node"
cd "$P/node"
[ -f package.json ] || npm init -y >/dev/null
npm install --no-fund --no-audit --loglevel=error \
  @modelcontextprotocol/sdk@1.32.2 @modelcontextprotocol/server-everything@2026.8.31
echo "official peers installed under $P"
