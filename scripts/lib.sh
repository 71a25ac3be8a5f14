# Shared by the scripts: install the system packages Airlock builds against.
airlock_install_deps() {
    local missing=()
    [ -f /usr/include/seccomp.h ] || missing+=(libseccomp-dev)
    [ -f /usr/include/sqlite3.h ] || missing+=(libsqlite3-dev)
    # libcurl's link library: a --static-swift-stdlib build links FoundationNetworking (pulled in
    # by the MCP SDK), which links libcurl.
    [ -e /usr/lib/x86_64-linux-gnu/libcurl.so ] || [ -e /usr/lib/aarch64-linux-gnu/libcurl.so ] || missing+=(libcurl4-openssl-dev)
    command -v cc >/dev/null 2>&1 || missing+=(gcc)
    if [ ${#missing[@]} -gt 0 ]; then
        echo "==> installing ${missing[*]}"
        if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null 2>&1; then
            echo "error: need ${missing[*]} (Debian packages) and cannot install them: not root and no sudo." >&2
            echo "       install them with: apt-get install -y ${missing[*]}" >&2
            exit 1
        fi
        local SUDO=""
        [ "$(id -u)" -ne 0 ] && SUDO=sudo
        if ! { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq "${missing[@]}"; } >/tmp/airlock-apt.log 2>&1; then
            echo "error: apt-get could not install ${missing[*]}; its log:" >&2
            tail -n 20 /tmp/airlock-apt.log >&2
            exit 1
        fi
    fi
    if ! command -v swift >/dev/null 2>&1; then
        echo "error: swift is not on PATH (Swift 6.3 toolchain needed)" >&2
        exit 1
    fi
}

# The example MCP server plugin (mcp-server-time from PyPI) in a virtualenv of the system
# Python under /opt, where the sandboxed tool (running as nobody) can read it; the tests and
# the demo run it as an untrusted plugin. Set AIRLOCK_PLUGIN_VENV to put it elsewhere.
AIRLOCK_PLUGIN_VENV=${AIRLOCK_PLUGIN_VENV:-/opt/airlock/plugins-venv}
airlock_install_plugins() {
    if [ -x "$AIRLOCK_PLUGIN_VENV/bin/mcp-server-time" ]; then return 0; fi
    echo "==> installing mcp-server-time into $AIRLOCK_PLUGIN_VENV"
    local SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO=sudo
    if ! { $SUDO mkdir -p "$(dirname "$AIRLOCK_PLUGIN_VENV")" \
        && $SUDO /usr/bin/python3 -m venv "$AIRLOCK_PLUGIN_VENV" \
        && $SUDO "$AIRLOCK_PLUGIN_VENV/bin/pip" install -q mcp-server-time \
        && $SUDO chmod -R a+rX "$AIRLOCK_PLUGIN_VENV"; } >/tmp/airlock-pip.log 2>&1; then
        echo "error: could not install mcp-server-time into $AIRLOCK_PLUGIN_VENV; its log:" >&2
        tail -n 20 /tmp/airlock-pip.log >&2
        exit 1
    fi
}

# The real clients of the gateway tests, from PyPI: the official MCP Python SDK (`mcp`) and
# `schemathesis` (against docs/openapi.yaml), in a virtualenv of their own. Set
# AIRLOCK_TEST_VENV to put it elsewhere.
AIRLOCK_TEST_VENV=${AIRLOCK_TEST_VENV:-/opt/airlock/test-venv}
airlock_install_test_clients() {
    # Pinned: the tests use these versions' client APIs and CLI flags.
    if "$AIRLOCK_TEST_VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('mcp') != '2.3.0' or m.version('schemathesis') != '4.32.5')" >/dev/null 2>&1; then return 0; fi
    echo "==> installing mcp and schemathesis into $AIRLOCK_TEST_VENV"
    local SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO=sudo
    if ! { $SUDO mkdir -p "$(dirname "$AIRLOCK_TEST_VENV")" \
        && $SUDO /usr/bin/python3 -m venv "$AIRLOCK_TEST_VENV" \
        && $SUDO "$AIRLOCK_TEST_VENV/bin/pip" install -q mcp==2.3.0 schemathesis==4.32.5; } >/tmp/airlock-pip-test.log 2>&1; then
        echo "error: could not install mcp and schemathesis into $AIRLOCK_TEST_VENV; its log:" >&2
        tail -n 20 /tmp/airlock-pip-test.log >&2
        exit 1
    fi
}
