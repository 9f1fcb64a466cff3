#!/usr/bin/env bash
# radicale-down.sh BASE_DIR [--purge]: stops the Radicale started by
# radicale-up.sh BASE_DIR (by its pid file).
set -euo pipefail
BASE=${1:?usage: radicale-down.sh BASE_DIR [--purge]}
[ -d "$BASE" ] || exit 0
if [ -f "$BASE/radicale.pid" ]; then
  pid=$(cat "$BASE/radicale.pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; fi
    echo "radicale (pid $pid) stopped"
  fi
  rm -f "$BASE/radicale.pid"
fi
if [ "${2:-}" = "--purge" ]; then rm -rf "$BASE" && echo "removed $BASE"; fi
exit 0
