# Shared by the scripts: install the system packages Airlock builds against.
airlock_install_deps() {
    local missing=()
    [ -f /usr/include/seccomp.h ] || missing+=(libseccomp-dev)
    [ -f /usr/include/sqlite3.h ] || missing+=(libsqlite3-dev)
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
