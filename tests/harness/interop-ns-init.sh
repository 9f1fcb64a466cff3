#!/usr/bin/env bash
# interop-ns-init.sh BASE
#
# Process 1 of one private Cyrus or Courier instance, started by interop-lib.sh as
#   setsid unshare --mount --pid --fork --propagation private --kill-child \
#     bash interop-ns-init.sh BASE
# Why a pid namespace: when this process ends, the kernel kills every process left in the
# namespace (forked imapd children, authdaemond workers, couriertcpd's per-connection
# processes), so a stopped instance can never leave anything behind, whatever a server does
# with its children. Why a mount namespace: Courier's authlib has /etc/courier and
# /run/courier compiled in, and both servers log only to /dev/log; both are replaced here by
# BASE's own, invisible to the rest of the machine and to the other instances.
#
# It then runs BASE/run/ns-setup.sh (written by cyrus-up.sh / courier-up.sh), which starts
# the server in the background and lists its main pids in SERVER_PIDS, and waits:
#   - SIGTERM (from interop-lib.sh's ilib_stop): TERM to the servers' main processes (they
#     stop their children), up to STOP_GRACE seconds, then TERM to everything else, then exit;
#   - a main process ending by itself: the instance is dead, so this exits too (and the
#     up-script, waiting for the greeting, reports the logs).
set -euo pipefail
BASE=${1:?usage: interop-ns-init.sh BASE}
HARNESS=$(cd "$(dirname "$0")" && pwd)
STOP_GRACE=${STOP_GRACE:-10}
SERVER_PIDS=()

# First of all, tell the up-script our pid as seen from outside. /proc is still the machine's
# (no --mount-proc), so /proc/self, opened by bash itself, is this process there; then the
# namespace gets its own /proc, for the pids used below.
IFS=' ' read -r OUTER_PID _ < /proc/self/stat
echo "$OUTER_PID" > "$BASE/run/ns.init.tmp"
mv "$BASE/run/ns.init.tmp" "$BASE/run/ns.init"
mount -t proc -o nosuid,nodev,noexec proc /proc

log() { echo "[ns-init $(date +%T.%N | cut -c1-12)] $*"; }

# A pid that is gone or only a zombie (bash reaps its children, but not at once).
# (/proc/PID/stat is "pid (comm) state ...", and comm may contain spaces.)
alive() { local st; st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null) || return 1; [ "${st%% *}" != Z ]; }
any_alive() { local p; for p in "$@"; do alive "$p" && return 0; done; return 1; }
all_alive() { local p; for p in "$@"; do alive "$p" || return 1; done; return 0; }

stop() {
  trap '' TERM INT
  log "stopping: TERM to ${SERVER_PIDS[*]:-nothing}"
  [ ${#SERVER_PIDS[@]} -gt 0 ] && kill -TERM "${SERVER_PIDS[@]}" 2>/dev/null || true
  local i
  for ((i = 0; i < STOP_GRACE * 20; i++)); do any_alive "${SERVER_PIDS[@]}" || break; sleep 0.05; done
  any_alive "${SERVER_PIDS[@]}" && log "main processes still alive after ${STOP_GRACE}s; the namespace's end kills them"
  # Everything else (children, the syslog receiver). kill -1 from pid 1 spares pid 1 itself.
  kill -TERM -1 2>/dev/null || true
  sleep 0.1
  log "stopped"
  exit 0
}
trap stop TERM INT

# --- a private /dev with our own /dev/log --------------------------------------------------
# glibc's syslog() writes to the fixed path /dev/log, which may not exist here (no syslog
# daemon) and must not be the machine's if it does. A small tmpfs /dev holds the usual
# device nodes (bind-mounted from the real /dev) and the receiver's socket.
HOSTDEV=$BASE/run/hostdev
mkdir -p "$HOSTDEV"
mount --bind /dev "$HOSTDEV"
mount -t tmpfs -o mode=0755,size=1m kerio-interop-dev /dev
for n in null zero full random urandom tty; do
  if [ -e "$HOSTDEV/$n" ]; then : > "/dev/$n"; mount --bind "$HOSTDEV/$n" "/dev/$n"; fi
done
ln -s /proc/self/fd /dev/fd; ln -s fd/0 /dev/stdin; ln -s fd/1 /dev/stdout; ln -s fd/2 /dev/stderr
mkdir /dev/shm /dev/pts
mount -t tmpfs -o mode=1777,size=16m kerio-interop-shm /dev/shm
umount -l "$HOSTDEV"

"${PY:-python3}" "$HARNESS/interop-syslog.py" /dev/log "$BASE/log/syslog" > "$BASE/run/syslog.ready" &
for _ in $(seq 1 100); do [ -s "$BASE/run/syslog.ready" ] && break; sleep 0.05; done
[ -S /dev/log ] || { log "the syslog receiver did not start"; exit 1; }

# --- the server ----------------------------------------------------------------------------
# shellcheck source=/dev/null
. "$BASE/run/ns-setup.sh"
[ ${#SERVER_PIDS[@]} -gt 0 ] || { log "ns-setup.sh started nothing"; exit 1; }
log "running: ${SERVER_PIDS[*]}"
echo "${SERVER_PIDS[*]}" > "$BASE/run/server.pids"

# Wake up every 0.2 s (a trapped TERM interrupts the sleep's wait) and end with the server.
while all_alive "${SERVER_PIDS[@]}"; do
  sleep 0.2 &
  wait $! || true
done
log "a main process ended by itself; ending the instance"
kill -TERM -1 2>/dev/null || true
exit 1
