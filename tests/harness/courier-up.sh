#!/usr/bin/env bash
# courier-up.sh BASE PORT
#
# kerio-migrate's test harness; adapted from the research test bed (shared/testbed/interop).
#
# Starts a private, throw-away Courier-IMAP 5.0 (Debian bookworm's courier-imap, unpacked by
# interop-install.sh into ROOT: it conflicts with dovecot-imapd) on 127.0.0.1:PORT, plain
# IMAP, with Debian's /etc/courier/imapd settings except address, port, pid and access files.
# Users come from a private userdb; mail is Maildir++ under BASE/home/<user>/Maildir.
#
# courier-authlib (from apt) has /etc/courier and /run/courier/authdaemon/socket compiled in,
# so the instance runs in its own mount namespace where BASE/etc is /etc/courier and BASE/run
# is /run/courier (on a private tmpfs /run), and its own pid namespace (interop-ns-init.sh),
# so courier-down.sh BASE leaves no process behind and instances in other BASEs do not meet.
#
# What a new account looks like (Debian's defaults, kept on purpose: the tests are about what
# a real Courier host does): namespace "INBOX." with separator ".", only INBOX exists, no
# SPECIAL-USE, no LITERAL+, no MULTIAPPEND, and IMAP_EMPTYTRASH=Trash:7 (messages in
# INBOX.Trash older than 7 days may be deleted by the server at logout), and a failed LOGIN is
# answered after 5 s ("NO Login failed."; Debian's imapd file has no setting for that).
#
# Needs root. Installs Courier first if ROOT has none (INTEROP_AUTO_INSTALL=0 to fail instead).
#
# Environment (all optional):
#   IMAP_USERS="anna"   users (USERS is read too, as in dovecot-up.sh)
#   IMAP_PASS=secret    their common password (PASSWORD is read too); hashed with
#                       `openssl passwd -6 -stdin`, never passed as an argument
#   FOLDERS=""          folders to create in each new account (maildirmake -f), e.g.
#                       "Sent Trash Drafts Junk" as some hosts provision them
#   EXTRA_CONF=         lines appended to the imapd settings, "\n" between them
#                       (e.g. 'IMAP_EMPTYTRASH=' or 'MAXPERIP=100')
#   ROOT / INTEROP_ROOT RUN_USER=imaptest START_TIMEOUT=30 (s)
#
# Logs: BASE/log/syslog (imapd and authdaemond log through syslog), BASE/log/ns.log.
# Stop with: courier-down.sh BASE
set -euo pipefail
BASE=${1:?usage: courier-up.sh BASE PORT}; PORT=${2:?usage: courier-up.sh BASE PORT}
# shellcheck source=interop-lib.sh
. "$(dirname "$0")/interop-lib.sh"
IMAP_USERS=${IMAP_USERS:-${USERS:-anna}}
IMAP_PASS=${IMAP_PASS:-${PASSWORD:-secret}}
FOLDERS=${FOLDERS:-}
[[ $PORT =~ ^[0-9]+$ ]] || { echo "PORT must be a number" >&2; exit 1; }

ilib_preflight courier-up
BASE=$(ilib_base "$BASE")
ilib_port_free "$PORT"
[ -d /etc/courier ] || ilib_die "/etc/courier missing (courier-authlib from apt makes it; run interop-install.sh)"
getent group courier >/dev/null || ilib_die "group courier missing (courier-authlib's postinst makes it)"
U=$(id -u "$RUN_USER"); G=$(id -g "$RUN_USER")
AS=(setpriv --reuid="$U" --regid="$G" --clear-groups --)

mkdir -p "$BASE"/{etc,run/authdaemon,home,log}

cat > "$BASE/etc/authdaemonrc" <<CONF
authmodulelist="authuserdb"
authmodulelistorig="authuserdb"
daemons=2
authdaemonvar=/run/courier/authdaemon
DEBUG_LOGIN=0
DEFAULTOPTIONS=""
LOGGEROPTS=""
CONF
sed -e "s|^ADDRESS=.*|ADDRESS=127.0.0.1|" -e "s|^PORT=.*|PORT=$PORT|" \
    -e "s|^PIDFILE=.*|PIDFILE=$BASE/run/imapd.pid|" -e "s|^IMAPACCESSFILE=.*|IMAPACCESSFILE=$BASE/etc/imapaccess|" \
    -e "s|^IMAP_SHAREDINDEXFILE=.*|IMAP_SHAREDINDEXFILE=$BASE/etc/shared/index|" \
    "$ROOT/etc/courier/imapd" > "$BASE/etc/imapd"
if [ -n "${EXTRA_CONF:-}" ]; then printf '%b\n' "$EXTRA_CONF" >> "$BASE/etc/imapd"; fi
mkdir -p "$BASE/etc/shared"
printf '127.0.0.1\tallow\n' > "$BASE/etc/imapaccess"
{ cat "$BASE/etc/imapaccess"; echo .; } \
  | "$ROOT/usr/lib/courier/courier/makedatprog" - "$BASE/etc/imapaccess.tmp" "$BASE/etc/imapaccess.dat"

: > "$BASE/etc/userdb"
for user in $IMAP_USERS; do
  home=$BASE/home/$user
  if [ ! -d "$home/Maildir" ]; then
    mkdir -p "$home"; chown "$U:$G" "$home"
    "${AS[@]}" "$ROOT/usr/bin/maildirmake.courier" "$home/Maildir"
    for f in $FOLDERS; do "${AS[@]}" "$ROOT/usr/bin/maildirmake.courier" -f "$f" "$home/Maildir"; done
  fi
  hash=$(printf '%s' "$IMAP_PASS" | openssl passwd -6 -stdin)
  printf '%s\tuid=%s|gid=%s|home=%s|mail=%s|systempw=%s\n' "$user" "$U" "$G" "$home" "$home/Maildir" "$hash" >> "$BASE/etc/userdb"
done
chmod 700 "$BASE/etc"; chmod 600 "$BASE/etc/userdb"
# As Debian's packages set /run/courier up: authdaemond (root) makes its socket there.
chown root:courier "$BASE/run"; chmod 775 "$BASE/run"
chown courier:courier "$BASE/run/authdaemon"; chmod 750 "$BASE/run/authdaemon"

# Run by interop-ns-init.sh inside the namespaces (as root: couriertcpd starts imapd as root,
# which changes to the user's uid/gid from the userdb after login).
{
  printf 'BASE=%q\nROOT=%q\n' "$BASE" "$ROOT"
  cat <<'SETUP'
# A private /run, so /run/courier need not exist on the machine (it is on tmpfs and goes away
# at reboot) and nothing of ours appears in the real one.
mount -t tmpfs -o mode=0755,size=1m kerio-interop-run /run
mkdir -p /run/courier
mount --bind "$BASE/etc" /etc/courier
mount --bind "$BASE/run" /run/courier
/usr/sbin/makeuserdb
( set -a; . /etc/courier/authdaemonrc; exec /usr/lib/courier/courier-authlib/authdaemond ) \
  >> "$BASE/log/authdaemond.log" 2>&1 &
SERVER_PIDS+=($!)
for _ in $(seq 1 100); do [ -S /run/courier/authdaemon/socket ] && break; sleep 0.05; done
[ -S /run/courier/authdaemon/socket ] || echo "authdaemond made no socket" >&2
# As Debian's init script runs it: the settings file as the environment, umask and ulimit.
env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin ROOT="$ROOT" /bin/sh -c 'set -a; . /etc/courier/imapd; umask $IMAP_UMASK; ulimit -v $IMAP_ULIMITD;
  exec "$ROOT/usr/sbin/couriertcpd" -address=$ADDRESS -maxprocs=$MAXDAEMONS -maxperip=$MAXPERIP \
    -access=$IMAPACCESSFILE.dat $TCPDOPTS $PORT "$ROOT/usr/lib/courier/courier/imaplogin" "$ROOT/usr/bin/imapd" $MAILDIRPATH' \
  >> "$BASE/log/imapd.log" 2>&1 &
SERVER_PIDS+=($!)
SETUP
} > "$BASE/run/ns-setup.sh"

ilib_start "$BASE"
ilib_wait_greeting "$BASE" "$PORT"
echo "courier up: imap=127.0.0.1:$PORT users=[$IMAP_USERS] base=$BASE greeting: $ILIB_GREETING"
