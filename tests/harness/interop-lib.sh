# interop-lib.sh: sourced by cyrus-up.sh, courier-up.sh and their -down.sh scripts.
#
# What the two servers share: where they are unpacked (interop-install.sh), who runs them,
# and the life cycle of one private instance in BASE:
#
#   BASE/run/ns-setup.sh   written by the up-script: starts the server (sourced by
#                          interop-ns-init.sh, process 1 of the instance's pid namespace)
#   BASE/run/ns.pid        the outer `unshare` process (for people reading ps)
#   BASE/run/ns.init       its child, pid 1 inside the namespace, as seen from outside
#   BASE/run/ns.id         the instance's pid namespace (pid:[...]): a pid is only signalled if
#                          it is still in it, and at stop no process may be left in it
#   BASE/log/syslog        everything the server logged (its private /dev/log)
#   BASE/log/ns.log        interop-ns-init.sh's own messages and the servers' stderr
#
# No path outside BASE is written (apart from RUN_USER, created once), so instances on
# different ports in different BASEs run side by side.
# shellcheck shell=bash

HARNESS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=${ROOT:-${INTEROP_ROOT:-/var/tmp/kerio-interop-root}}
# The same unprivileged user as dovecot-up.sh: the servers' files in BASE belong to it.
RUN_USER=${RUN_USER:-imaptest}
# Seconds to wait for the greeting; Cyrus runs its database recovery first.
START_TIMEOUT=${START_TIMEOUT:-30}


# BASE's instance is running: its pid 1 is alive and still in the pid namespace recorded at
# start (after a reboot the recorded pids may belong to anything).
ilib_running() {
  local init id
  init=$(cat "$1/run/ns.init" 2>/dev/null) && id=$(cat "$1/run/ns.id" 2>/dev/null) || return 1
  [ -n "$init" ] && [ -n "$id" ] && [ "$(readlink "/proc/$init/ns/pid" 2>/dev/null)" = "$id" ]
}

# Alive and not a zombie.
ilib_alive() { local st; st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null) || return 1; [ "${st%% *}" != Z ]; }

# pids of the instances (their pid 1, outer pid) whose BASE is DIR or below it: a directory
# with a running instance inside must not be deleted (its server would go on, unstoppable).
ilib_instances_below() {
  local dir=${1%/}
  ps -eo pid=,args= | awk -v d="$dir" '$2 == "bash" && $3 ~ /interop-ns-init\.sh$/ && ($4 == d || index($4, d "/") == 1) { print $1 }'
}

# pid 1 (outer pid) of the instance whose BASE is exactly DIR, if one runs; found by command
# line, for when its run/ records are gone.
ilib_instance_of() {
  local dir=${1%/}
  ps -eo pid=,args= | awk -v d="$dir" '$2 == "bash" && $3 ~ /interop-ns-init\.sh$/ && $4 == d && NF == 4 { print $1; exit }'
}

# rm -rf DIR, unless an instance still runs in it.
ilib_purge() {
  local dir=$1 running
  running=$(ilib_instances_below "$dir")
  if [ -n "$running" ]; then
    echo "$ILIB_NAME: not removing $dir: instance(s) still running in it (pid $(echo $running)); stop them first" >&2
    return 1
  fi
  rm -rf "$dir"
}

ilib_die() { echo "$ILIB_NAME: $*" >&2; exit 1; }

# Checks common to both up-scripts; $1 = name for messages.
ilib_preflight() {
  ILIB_NAME=$1
  [ "$(id -u)" = 0 ] || { echo "$ILIB_NAME: needs root (a private mount and pid namespace, and $RUN_USER)" >&2; exit 2; }
  command -v unshare >/dev/null && command -v setpriv >/dev/null && command -v "$PY" >/dev/null \
    || ilib_die "needs util-linux (unshare, setpriv) and python3"
  if [ ! -f "$ROOT/.kerio-interop-installed" ]; then
    # Installed on demand, like the tests install Dovecot: idempotent, locked.
    [ "${INTEROP_AUTO_INSTALL:-1}" = 1 ] || ilib_die "Cyrus/Courier are not installed in $ROOT: run bash $HARNESS/interop-install.sh"
    echo "$ILIB_NAME: installing Cyrus/Courier into $ROOT first (tests/harness/interop-install.sh)" >&2
    bash "$HARNESS/interop-install.sh" "$ROOT" >&2 || ilib_die "interop-install.sh failed"
  fi
  if ! id -u "$RUN_USER" >/dev/null 2>&1; then
    # Parallel up-scripts may race here; useradd then fails for all but one, which is fine.
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$RUN_USER" 2>/dev/null \
      || id -u "$RUN_USER" >/dev/null 2>&1 || ilib_die "cannot create user $RUN_USER"
  fi
}

# BASE must be new or a stopped instance's; prints the absolute path.
ilib_base() {
  local base=$1
  # The path goes unquoted into cyrus.conf's cmd= lines and is matched in `ps` output.
  [[ $base =~ [[:space:]] ]] && ilib_die "BASE must not contain white space: '$base'"
  mkdir -p "$base"
  base=$(cd "$base" && pwd)
  if ilib_running "$base"; then
    ilib_die "an instance is already running in $base (pid $(cat "$base/run/ns.pid")); stop it first"
  fi
  # The server runs as RUN_USER: every directory above BASE must let it through.
  if ! runuser -u "$RUN_USER" -- test -x "$base"; then
    ilib_die "$RUN_USER cannot enter $base (a parent directory is not world-executable, e.g. a 0700 tempdir)"
  fi
  echo "$base"
}

# Python for the syslog receiver and the smoke session: Debian's own, not a version manager's
# shim earlier in PATH (pyenv's costs ~2 s per start on a loaded machine).
if [ -z "${PY:-}" ]; then
  if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=python3; fi
fi
export PY

# One connection attempt with bash's /dev/tcp (no process to start: the greeting wait polls).
# Returns 0 and sets ILIB_GREETING if the server sent "* OK ..." within 5 s; 2 if nothing
# listens; 1 for anything else.
ilib_greeting() {
  local port=$1 fd line
  exec {fd}<>"/dev/tcp/127.0.0.1/$port" || return 2
  if ! IFS= read -r -t 5 line <&"$fd"; then exec {fd}>&-; return 1; fi
  exec {fd}>&-
  line=${line%$'\r'}
  [[ $line == "* OK"* ]] || { ILIB_GREETING=$line; return 1; }
  ILIB_GREETING=$line
}

# Something already answering on the port would pass the greeting check for us.
ilib_port_free() {
  local port=$1 rc=0
  ilib_greeting "$port" 2>/dev/null || rc=$?
  [ $rc = 2 ] || ilib_die "127.0.0.1:$port is already in use${ILIB_GREETING:+ (it says: $ILIB_GREETING)}"
}

# Starts BASE/run/ns-setup.sh inside a new pid + mount namespace (see interop-ns-init.sh).
# Output goes to files, never to the caller's stdout: a test that reads this script's output
# through a pipe would otherwise wait for the instance to end.
# Returns once pid 1 of the namespace has said who it is (BASE/run/ns.init, written by
# interop-ns-init.sh itself: on a loaded machine that can take seconds, and a guess from `ps`
# made too early would leave an instance that no down-script can find). On failure the
# instance is ended and the script exits 1.
ilib_start() {
  local base=$1 ns init deadline f
  # Logs of an earlier start in the same BASE are kept once, as *.1, so that what a failed
  # start shows (and the fatal-error check) is about this start only.
  for f in "$base"/log/*; do
    case $f in *.1) continue ;; esac
    [ -f "$f" ] && mv -f "$f" "$f.1"
  done
  : > "$base/log/ns.log"
  rm -f "$base/run/ns.pid" "$base/run/ns.init" "$base/run/ns.id" "$base/run/server.pids" "$base/run/syslog.ready"
  setsid unshare --mount --pid --fork --propagation private --kill-child \
    bash "$HARNESS/interop-ns-init.sh" "$base" < /dev/null >> "$base/log/ns.log" 2>&1 &
  ns=$!
  echo "$ns" > "$base/run/ns.pid"
  deadline=$(( $(date +%s) + START_TIMEOUT ))
  while [ ! -s "$base/run/ns.init" ]; do
    if ! ilib_alive "$ns"; then
      echo "$ILIB_NAME: the namespace for $base ended at once" >&2; ilib_show_logs "$base"; exit 1
    fi
    if [ "$(date +%s)" -ge $deadline ]; then
      # --kill-child: unshare's end takes its child, and with it the namespace, along.
      kill -KILL "$ns" 2>/dev/null || true
      echo "$ILIB_NAME: the namespace for $base did not start within ${START_TIMEOUT}s" >&2; ilib_show_logs "$base"; exit 1
    fi
    sleep 0.02
  done
  init=$(cat "$base/run/ns.init")
  if ! readlink "/proc/$init/ns/pid" > "$base/run/ns.id" 2>/dev/null || [ ! -s "$base/run/ns.id" ]; then
    kill -KILL "$ns" 2>/dev/null || true
    echo "$ILIB_NAME: pid 1 of the namespace for $base ($init) ended at once" >&2; ilib_show_logs "$base"; exit 1
  fi
}

# Prints the last lines of every log of the instance, for a failed start.
ilib_show_logs() {
  local base=$1 f
  for f in "$base"/log/*; do
    case $f in *.1) continue ;; esac
    [ -s "$f" ] || continue
    echo "----- $f (last 40 lines)" >&2
    tail -n 40 "$f" >&2
  done
}

# Waits for "* OK" on the port while the instance lives. On failure: logs, stop, exit 1.
# ILIB_FATAL_RE: an extended regex for BASE/log/syslog lines that mean it will never answer.
ilib_wait_greeting() {
  local base=$1 port=$2 deadline
  deadline=$(( $(date +%s%N) / 1000000 + START_TIMEOUT * 1000 ))
  while :; do
    if ilib_greeting "$port" 2>/dev/null; then return 0; fi
    # A server that keeps running without its listener (Cyrus's master does) would only time out.
    if [ -n "${ILIB_FATAL_RE:-}" ] && grep -qE "$ILIB_FATAL_RE" "$base/log/syslog" 2>/dev/null; then
      echo "$ILIB_NAME: the server in $base logged a fatal error:" >&2
      grep -E "$ILIB_FATAL_RE" "$base/log/syslog" | tail -n 5 >&2
      ilib_show_logs "$base"; ilib_stop "$base" >/dev/null 2>&1 || true; exit 1
    fi
    if ! ilib_running "$base"; then
      echo "$ILIB_NAME: the instance in $base exited before answering on 127.0.0.1:$port" >&2
      ilib_show_logs "$base"; ilib_stop "$base" >/dev/null 2>&1 || true; exit 1
    fi
    if [ $(( $(date +%s%N) / 1000000 )) -ge $deadline ]; then
      echo "$ILIB_NAME: no IMAP greeting on 127.0.0.1:$port within ${START_TIMEOUT}s" >&2
      ilib_show_logs "$base"; ilib_stop "$base" >/dev/null 2>&1 || true; exit 1
    fi
    sleep 0.05
  done
}

# The processes of the instance's pid namespace that are still alive (outer pids).
ilib_ns_members() {
  local id=$1
  [ -n "$id" ] || return 0
  # One ls for all of /proc (a readlink per process is slow on a busy machine).
  # shellcheck disable=SC2012
  ls -l /proc/[0-9]*/ns/pid 2>/dev/null | awk -v id="$id" '$NF == id { split($(NF-2), p, "/"); print p[3] }'
  return 0
}

# Stops the instance: TERM to its pid 1 (which stops the server gracefully), then, if that
# takes too long, KILL to it (allowed from outside the namespace; its end ends every other
# process of the namespace, and unshare exits with it). Only a pid proven to be this
# instance's pid 1 (in the pid namespace recorded at start, or running interop-ns-init.sh
# for this BASE when the records are missing) is signalled. Returns 1 if any process of the
# namespace is still there afterwards.
ilib_stop() {
  local base=$1 init id i left
  init=$(cat "$base/run/ns.init" 2>/dev/null || true)
  id=$(cat "$base/run/ns.id" 2>/dev/null || true)
  if ! { [ -n "$init" ] && [ -n "$id" ] && [ "$(readlink "/proc/$init/ns/pid" 2>/dev/null)" = "$id" ]; }; then
    # No (valid) record: an interrupted start, or run/ deleted under a running instance.
    init=$(ilib_instance_of "$base")
    id=
    if [ -n "$init" ]; then id=$(readlink "/proc/$init/ns/pid" 2>/dev/null || true); fi
  fi
  if [ -z "$init" ] || [ -z "$id" ]; then echo "no instance running in $base"; return 0; fi
  same() { [ "$(readlink "/proc/$init/ns/pid" 2>/dev/null)" = "$id" ]; }
  if same; then
    kill -TERM "$init" 2>/dev/null || true
    for ((i = 0; i < ${STOP_TIMEOUT:-15} * 20; i++)); do same || break; sleep 0.05; done
    if same; then
      echo "instance $base did not stop within ${STOP_TIMEOUT:-15}s: KILL" >&2
      kill -KILL "$init" 2>/dev/null || true
    fi
  fi
  # pid 1 has gone; the kernel ends the namespace's other processes right after, which can
  # take a moment to be visible in /proc.
  for ((i = 0; i < 100; i++)); do
    left=$(ilib_ns_members "$id")
    [ -z "$left" ] && break
    sleep 0.05
  done
  if [ -n "$left" ]; then
    echo "processes of $base still alive after stop:" >&2
    # shellcheck disable=SC2086
    ps -o pid,user,args -p $(echo $left | tr ' ' ',') >&2 || true
    return 1
  fi
  rm -f "$base/run/ns.pid" "$base/run/ns.init" "$base/run/ns.id"
  echo "stopped $base"
}
