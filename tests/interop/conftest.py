"""Fixtures locating the official peers the interop suite drives.

The peers are installed by ``tests/interop/install_peers.sh`` into ``$MCP_REF_PEERS`` (default
``/tmp/mcp_ref_peers``): the Python SDK in ``venv/``, the TypeScript SDK and server-everything
in ``node/node_modules/``. A missing peer skips the tests that need it, unless
``MCP_REF_REQUIRE_PEERS=1`` (set by ``.ci/run``): then it fails them, so CI cannot go green by
skipping everything.

The suite depends on nothing outside this directory: its peer scripts are in ``peers/``.
"""

import json
import os
import shutil
import subprocess

import pytest

from interop_kit import HERE, Wire

PEERS = os.environ.get("MCP_REF_PEERS", "/tmp/mcp_ref_peers")
#: The pinned versions (install_peers.sh); another version is treated as "not installed".
PY_SDK_VERSION = "2.3.0"
TS_SDK_VERSION = "1.32.2"
EVERYTHING_VERSION = "2026.8.31"


def missing(what: str, detail: str = "") -> None:
    message = (f"{what} not installed: run tests/interop/install_peers.sh "
               f"(MCP_REF_PEERS={PEERS})" + (f"; {detail}" if detail else ""))
    if os.environ.get("MCP_REF_REQUIRE_PEERS") == "1":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _package_version(package_json: str) -> str:
    try:
        with open(package_json, encoding="utf-8") as f:
            return json.load(f).get("version", "?")
    except (OSError, ValueError):
        return ""


@pytest.fixture(scope="session")
def py_sdk_python() -> str:
    """The interpreter of the venv holding the official Python SDK (``mcp``)."""
    python = os.path.join(PEERS, "venv", "bin", "python")
    if not os.access(python, os.X_OK):
        missing("the official Python SDK (mcp)", f"{python} is absent")
    probe = subprocess.run(
        [python, "-c", "import importlib.metadata as m; print(m.version('mcp'))"],
        capture_output=True, text=True, timeout=60)
    found = probe.stdout.strip()
    if probe.returncode != 0 or found != PY_SDK_VERSION:
        missing(f"the official Python SDK (mcp=={PY_SDK_VERSION})",
                f"found {found or probe.stderr.strip()[-200:]!r}")
    return python


@pytest.fixture(scope="session")
def node() -> str:
    found = shutil.which("node")
    if found is None:
        missing("node (needed by the TypeScript SDK and server-everything)")
    return found


@pytest.fixture(scope="session")
def node_modules(node) -> str:
    """The node_modules holding the TypeScript SDK (the peer scripts resolve it from here)."""
    modules = os.path.join(PEERS, "node", "node_modules")
    found = _package_version(os.path.join(modules, "@modelcontextprotocol", "sdk", "package.json"))
    if found != TS_SDK_VERSION:
        missing(f"the official TypeScript SDK (@modelcontextprotocol/sdk@{TS_SDK_VERSION})",
                f"found {found or 'nothing'} in {modules}")
    return modules


@pytest.fixture(scope="session")
def server_everything(node, node_modules) -> list:
    """argv of server-everything on stdio: its package.json ``bin`` entry, argument ``stdio``."""
    package = os.path.join(node_modules, "@modelcontextprotocol", "server-everything")
    found = _package_version(os.path.join(package, "package.json"))
    if found != EVERYTHING_VERSION:
        missing(f"server-everything (@modelcontextprotocol/server-everything@{EVERYTHING_VERSION})",
                f"found {found or 'nothing'} in {package}")
    with open(os.path.join(package, "package.json"), encoding="utf-8") as f:
        bin_entry = json.load(f)["bin"]
    entry = bin_entry if isinstance(bin_entry, str) else bin_entry["mcp-server-everything"]
    # dist/index.js picks the transport from argv[2]: "stdio" (also its default).
    return [node, os.path.join(package, entry), "stdio"]


@pytest.fixture
def wire(tmp_path) -> Wire:
    """A wire log for this test: ``wire.tapped(argv)`` runs a server behind the tap."""
    return Wire(str(tmp_path / "wire.jsonl"))


@pytest.fixture(scope="session")
def peer_scripts() -> str:
    return os.path.join(HERE, "peers")
