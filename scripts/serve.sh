#!/usr/bin/env bash
# Run the server locally: creates .venv from requirements.lock if needed, loads the demo
# data into ./lineage-data the first time, then runs `lineage serve` (arguments passed on).
set -uo pipefail

# shellcheck source=scripts/_venv.sh
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
cd "$LINEAGE_ROOT" || exit 1

lineage_ensure_venv || exit 1

DATA_DIR="$LINEAGE_ROOT/lineage-data"
DEMO_MARK="$DATA_DIR/.demo-loaded"
if [ ! -e "$DEMO_MARK" ]; then
    if "$VENV/bin/lineage" demo --help >/dev/null 2>&1; then
        lineage_log "loading demo data into $DATA_DIR (first run only)"
        if "$VENV/bin/lineage" demo; then
            mkdir -p "$DATA_DIR" && touch "$DEMO_MARK"
        else
            lineage_warn "lineage demo failed; starting the server without demo data"
        fi
    else
        lineage_warn "'lineage demo' is not available yet; starting without demo data"
    fi
fi

exec "$VENV/bin/lineage" serve "$@"
