#!/usr/bin/env bash
# Regenerate requirements.lock from pyproject.toml (all extras) with pip-tools, for
# Python 3.11. Run after changing dependencies in pyproject.toml; commit both files.
#   scripts/lock.sh                  keep existing pins where they still fit
#   scripts/lock.sh --upgrade        newest versions everything allows
#   scripts/lock.sh -P PKG           upgrade one package
# Extra arguments go to pip-compile.
set -euo pipefail

# shellcheck source=scripts/_venv.sh
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
cd "$LINEAGE_ROOT"

if [ ! -x "$VENV/bin/pip-compile" ]; then
    if [ -f requirements.lock ]; then
        lineage_ensure_venv
    else
        [ -x "$VENV/bin/python" ] || "$(_lineage_find_python)" -m venv "$VENV"
    fi
    [ -x "$VENV/bin/pip-compile" ] || "$VENV/bin/python" -m pip install -q 'pip-tools>=7.4'
fi

# --all-extras: one environment for the server, viewers, demo and the tests.
# --allow-unsafe: pin pip/setuptools too (setuptools builds the editable install offline).
# --strip-extras: plain pins that `pip install -r` and pip-sync both take.
# No index URLs or find-links in the file: the machine's pip config supplies them.
"$VENV/bin/pip-compile" \
    --quiet \
    --all-extras \
    --allow-unsafe \
    --strip-extras \
    --no-emit-index-url \
    --no-emit-find-links \
    --no-emit-trusted-host \
    --resolver=backtracking \
    --output-file=requirements.lock \
    "$@" \
    pyproject.toml
# pip-compile records the command line in the header; make it say how to regenerate.
sed -i 's|^#    pip-compile .*|#    scripts/lock.sh|' requirements.lock
lineage_log "wrote requirements.lock ($(grep -c '==' requirements.lock) pins)"
