#!/usr/bin/env bash
# interop-smoke.sh [WORKDIR]
#
# Smoke test of the interop harness: starts each of the three server configurations the
# interop tests use, logs in with a tiny plain-TCP IMAP exchange (interop-imap.py session)
# showing CAPABILITY, NAMESPACE, LIST "" "*" RETURN (SPECIAL-USE) and LIST "" "*" as the
# server sent them, stops it, checks that no process of it is left, and prints how long the
# start and the stop took.
#
#   cyrus-debian     Cyrus 3.6, ALTNS=0 UNIXSEP=0 (Debian's imapd.conf: "INBOX." and ".")
#   cyrus-upstream   Cyrus 3.6, ALTNS=1 UNIXSEP=1 (upstream's default: no prefix and "/")
#   courier          Courier-IMAP 5.0 (Debian's settings: "INBOX." and ".")
#
# Needs root; installs the servers first if needed (interop-install.sh). WORKDIR (default a
# new temp dir) holds the instances; it is removed at the end unless KEEP=1.
# Exit 0 when every configuration started, accepted the login and stopped cleanly.
set -euo pipefail
HARNESS=$(cd "$(dirname "$0")" && pwd)
export IMAP_USERS=${IMAP_USERS:-anna} IMAP_USER=${IMAP_USER:-anna}
# A throw-away password for throw-away servers; from the environment, never an argument.
export IMAP_PASS=${IMAP_PASS:-smoke-$$-$RANDOM}
WORK=${1:-}
CREATED=0
if [ -z "$WORK" ]; then WORK=$(mktemp -d /tmp/kerio-interop-smoke.XXXXXX); CREATED=1; fi
mkdir -p "$WORK"; WORK=$(cd "$WORK" && pwd)
# Whatever happens (an error, ^C), the server of the moment is stopped, then the temp dir goes.
CURRENT=()
cleanup() {
  [ ${#CURRENT[@]} = 0 ] || bash "$HARNESS/${CURRENT[0]}" "${CURRENT[1]}" >/dev/null 2>&1 || true
  if [ $CREATED = 1 ] && [ "${KEEP:-0}" != 1 ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT
chmod 755 "$WORK"   # the servers run as an unprivileged user and must enter it

# Debian's python3, not a version manager's slow shim (see interop-lib.sh).
PY=${PY:-$( [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || echo python3 )}
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

fails=0
summary=()
run() {  # name up-script down-script [VAR=value...]
  local name=$1 up=$2 down=$3; shift 3
  local base=$WORK/$name port t0 t1 t2 t3 out
  port=$(free_port)
  echo "=================== $name (127.0.0.1:$port) ==================="
  CURRENT=("$down" "$base")
  t0=$(now_ms)
  if ! out=$(env "$@" bash "$HARNESS/$up" "$base" "$port" 2>&1); then
    echo "$out"; echo "!! $name did not start"; fails=$((fails + 1)); summary+=("$name: did not start"); return
  fi
  t1=$(now_ms)
  echo "$out"
  "$PY" "$HARNESS/interop-imap.py" session "$port" || { echo "!! $name: login failed"; fails=$((fails + 1)); }
  t2=$(now_ms)
  if ! bash "$HARNESS/$down" "$base"; then
    echo "!! $name: processes left after stop"; fails=$((fails + 1))
  fi
  t3=$(now_ms)
  CURRENT=()
  # Independent check with ps: nothing that mentions this instance's directory.
  if ps -eo pid=,args= | grep -F -- "$base" | grep -v grep; then
    echo "!! $name: ps still shows processes of $base"; fails=$((fails + 1))
  fi
  summary+=("$(printf '%-15s start %5d ms   stop %5d ms' "$name" $((t1 - t0)) $((t3 - t2)))")
}

run cyrus-debian cyrus-up.sh cyrus-down.sh ALTNS=0 UNIXSEP=0
run cyrus-upstream cyrus-up.sh cyrus-down.sh ALTNS=1 UNIXSEP=1
run courier courier-up.sh courier-down.sh

echo "=================== summary ==================="
printf '%s\n' "${summary[@]}"
if [ $fails -gt 0 ]; then echo "$fails problem(s)"; exit 1; fi
echo "all three configurations started, logged in and stopped cleanly"
