# shellcheck shell=bash
# Shared setup for scripts/test.sh, scripts/serve.sh and scripts/lock.sh (sourced, not run).
#
#   lineage_ensure_apt PKG...   install missing Debian packages (root only; apt-get update
#                               only when something is missing)
#   lineage_ensure_venv         create .venv if missing; install requirements.lock and the
#                               project (editable) unless already done for this exact
#                               requirements.lock + pyproject.toml (stamp in .venv)
#
# Environment: LINEAGE_PYTHON   the interpreter for a new .venv (default: python3.11, python3)
#              LINEAGE_VENV     the virtualenv to use (default: <repo>/.venv)

LINEAGE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${LINEAGE_VENV:-$LINEAGE_ROOT/.venv}"
export PIP_DISABLE_PIP_VERSION_CHECK=1

lineage_log() { printf '==> %s\n' "$*" >&2; }
lineage_warn() { printf 'WARNING: %s\n' "$*" >&2; }

lineage_ensure_apt() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
            || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if ! command -v apt-get >/dev/null 2>&1; then
        lineage_warn "no apt-get here: install ${missing[*]} yourself (tests needing them skip)"
        return 0
    fi
    if [ "$(id -u)" != 0 ]; then
        lineage_warn "not root, skipping apt-get: missing Debian packages ${missing[*]}" \
            "(tests needing them will be skipped; run as root or install them)"
        return 0
    fi
    lineage_log "apt-get install ${missing[*]}"
    local log
    log="$(mktemp)"
    # No recommends: chromium's would pull in systemd, avahi, cups...
    if ! {
        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update -q \
            && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install \
                -y -q --no-install-recommends "${missing[@]}"
    } >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        lineage_warn "apt-get install ${missing[*]} failed"
        return 1
    fi
    rm -f "$log"
}

_lineage_find_python() {
    local c
    for c in ${LINEAGE_PYTHON:-} python3.11 python3; do
        if command -v "$c" >/dev/null 2>&1 \
            && "$c" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
            command -v "$c"
            return 0
        fi
    done
    return 1
}

lineage_ensure_venv() {
    local py stamp want
    if [ ! -x "$VENV/bin/python" ]; then
        if ! py="$(_lineage_find_python)"; then
            lineage_warn "Python 3.11 not found (tried \$LINEAGE_PYTHON, python3.11, python3)"
            return 1
        fi
        lineage_log "creating $VENV with $py"
        "$py" -m venv "$VENV" || return 1
    fi
    stamp="$VENV/.lineage-install-stamp"
    want="$(cat "$LINEAGE_ROOT/requirements.lock" "$LINEAGE_ROOT/pyproject.toml" \
        | sha256sum | cut -d' ' -f1)"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] \
        && "$VENV/bin/python" -I -c 'import lineage' 2>/dev/null; then
        return 0
    fi
    lineage_log "installing requirements.lock and the project into $VENV"
    rm -f "$stamp"
    "$VENV/bin/python" -m pip install -qq -r "$LINEAGE_ROOT/requirements.lock" || return 1
    # setuptools and wheel come from the lock: no isolated build env to download.
    # Its build warnings are noise unless it fails.
    local log
    log="$(mktemp)"
    if ! "$VENV/bin/python" -m pip install -q --no-deps --no-build-isolation \
        -e "$LINEAGE_ROOT" >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        return 1
    fi
    rm -f "$log"
    echo "$want" >"$stamp"
}
