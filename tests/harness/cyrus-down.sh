#!/usr/bin/env bash
# cyrus-down.sh BASE [--purge]
# Stops the private Cyrus started by cyrus-up.sh BASE: TERM to the instance's process 1, which
# TERMs master (master stops its imapd children), then the pid namespace ends. Exits 1 if any
# process of the instance is still alive afterwards. --purge also deletes BASE.
set -euo pipefail
BASE=${1:?usage: cyrus-down.sh BASE [--purge]}
# shellcheck source=interop-lib.sh
. "$(dirname "$0")/interop-lib.sh"
ILIB_NAME=cyrus-down
# Even a BASE deleted under a running instance is stopped: its pid 1 is found by command line.
BASE=$(realpath -m "$BASE")
ilib_stop "$BASE"
if [ "${2:-}" = --purge ]; then ilib_purge "$BASE"; echo "removed $BASE"; fi
