#!/usr/bin/env bash
# The test command. On a fresh Debian 12 machine (as root) it installs what the tests need
# (PostgreSQL, MariaDB, Chromium, sqlite3), creates .venv from requirements.lock, then runs
#   ruff check .   ruff format --check .   mypy lineage/   pytest [ARGS...]
# Arguments go to pytest:   scripts/test.sh -k sqlite    scripts/test.sh tests/test_dbservers.py
# Exits non-zero if any step fails, and when pytest runs no test (its exit code 5).
#
# Environment:
#   CI=true                   a database backend that cannot run is an error, not a skip
#   LINEAGE_TEST_SKIP_LINT=1  skip ruff and mypy (quick local iterations; never in CI)
#   LINEAGE_TEST_PG_BIN, LINEAGE_TEST_MYSQL_BIN, ...   see tests/dbservers.py
set -uo pipefail

# shellcheck source=scripts/_venv.sh
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
cd "$LINEAGE_ROOT" || exit 1

lineage_ensure_apt postgresql mariadb-server chromium fonts-liberation sqlite3 || exit 1
lineage_ensure_venv || exit 1

failed=()
if [ "${LINEAGE_TEST_SKIP_LINT:-0}" = 1 ] && [ "${CI:-}" != true ]; then
    lineage_warn "LINEAGE_TEST_SKIP_LINT=1: not running ruff and mypy"
else
    lineage_log "ruff check ."
    "$VENV/bin/ruff" check . || failed+=(ruff)
    lineage_log "ruff format --check ."
    "$VENV/bin/ruff" format --check . || failed+=("ruff format (run: ruff format .)")
    lineage_log "mypy lineage/"
    "$VENV/bin/mypy" lineage/ || failed+=(mypy)
fi

lineage_log "pytest $*"
"$VENV/bin/python" -m pytest "$@"
rc=$?
case $rc in
    0) ;;
    5) failed+=("pytest (no tests were run)") ;;
    *) failed+=("pytest (exit $rc)") ;;
esac

if [ ${#failed[@]} -gt 0 ]; then
    printf 'scripts/test.sh: FAILED: %s\n' "${failed[*]}" >&2
    exit 1
fi
