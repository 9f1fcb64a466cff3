#!/usr/bin/env bash
# dovecot-up.sh BASE_DIR [IMAP_PORT] [IMAPS_PORT]
#
# kerio-migrate's test harness; adapted from the research test bed (shared/testbed).
#
# Start a private, throw-away Dovecot 2.3 IMAP server (Debian bookworm's
# dovecot-core/dovecot-imapd) that never reads or writes /etc/dovecot.
# Everything (config, TLS material, sockets, logs, maildirs) lives in BASE_DIR.
#
#   plain IMAP     127.0.0.1:IMAP_PORT   (default 10143; STARTTLS offered, LOGIN allowed w/o TLS)
#   implicit TLS   127.0.0.1:IMAPS_PORT  (default 10993)
#   users          alice, bob, carol / password "secret"   (USERS / PASSWORD env)
#   master user    admin / "secret"  -> log in as "alice*admin" + admin's password
#   mailboxes      INBOX + Drafts Sent Trash Junk Archive (SPECIAL-USE, auto-subscribed)
#   mail storage   maildir:BASE_DIR/mail/<user>/Maildir   (MAIL_FORMAT=sdbox|mdbox to change)
#   TLS            BASE_DIR/tls/ca.pem (trust this) signs BASE_DIR/tls/server.pem
#                  (SAN: localhost, 127.0.0.1, ::1; CA:FALSE, so rustls/webpki accept it)
#
# The whole instance (master included) runs as an unprivileged uid:
#   - invoked as non-root: runs as the invoking user
#   - invoked as root:     runs as $RUN_USER (default "imaptest", created with useradd if missing)
#
# Environment knobs (all optional):
#   LISTEN="127.0.0.1"       addresses to bind (e.g. "127.0.0.1, ::1" or "*")
#   MAIL_FSYNC=optimized     optimized | always | never   (Dovecot's mail_fsync)
#   MAIL_FORMAT=maildir      maildir | sdbox | mdbox  (storage under BASE_DIR/mail/<user>/<format>)
#   VERY_DIRTY_SYNCS=no      yes -> maildir_very_dirty_syncs (measured: does NOT stop maildir's
#                            per-APPEND cost from growing with mailbox size; use mdbox for speed)
#   LITERAL_MINUS=no         yes -> advertise LITERAL- instead of LITERAL+
#   APPENDLIMIT=             bytes; if set, enforces a max message size (quota plugin,
#                            quota_max_mail_size) and advertises APPENDLIMIT=<n> after login via
#                            imap_capability (Dovecot 2.3 itself never advertises APPENDLIMIT)
#   COMPRESS=yes             load zlib/imap_zlib -> COMPRESS=DEFLATE
#   MAX_CONN_PER_USER_IP=200 mail_max_userip_connections (Dovecot default is 10!)
#   NETNS=                   start Dovecot inside this network namespace (see wan-up.sh)
#   USERS="alice bob carol"  PASSWORD=secret  MASTER_USER=admin  MASTER_PASSWORD=secret
#   AUTH_PENALTY=no          yes -> keep Dovecot's per-IP penalty for failed logins (2..15 s extra
#                            delay per failure, from anvil); default off so wrong-password tests are
#                            fast (a failed LOGIN still takes ~0.5 s)
#   SEPARATOR=/              hierarchy separator of the INBOX namespace
#   RUN_USER=imaptest        only used when invoked as root
#   RAWLOG=no                yes -> protocol traces per IMAP session in BASE_DIR/rawlog/<user>/
#   LISTESCAPE=no            yes -> load the listescape plugin (folder names with '.' in Maildir++)
#   EXTRA_CONF=              config lines appended at the end (e.g. a `protocol imap { imap_capability = ... }`
#                            block that leaves out MOVE or UIDPLUS)
#   MAIL_ROOT=               serve an existing tree instead: maildir:MAIL_ROOT/<user>, with
#                            Dovecot's control and index files kept under BASE_DIR (read-only use
#                            of MAIL_ROOT apart from Dovecot's own cur/new handling)
#
# Stop with: dovecot-down.sh BASE_DIR
set -euo pipefail

BASE=${1:?usage: dovecot-up.sh BASE_DIR [IMAP_PORT] [IMAPS_PORT]}
IMAP_PORT=${2:-10143}
IMAPS_PORT=${3:-10993}
LISTEN=${LISTEN:-127.0.0.1}
MAIL_FSYNC=${MAIL_FSYNC:-optimized}
MAIL_FORMAT=${MAIL_FORMAT:-maildir}
VERY_DIRTY_SYNCS=${VERY_DIRTY_SYNCS:-no}
LITERAL_MINUS=${LITERAL_MINUS:-no}
APPENDLIMIT=${APPENDLIMIT:-}
COMPRESS=${COMPRESS:-yes}
MAX_CONN_PER_USER_IP=${MAX_CONN_PER_USER_IP:-200}
NETNS=${NETNS:-}
USERS=${USERS:-alice bob carol}
PASSWORD=${PASSWORD:-secret}
MASTER_USER=${MASTER_USER:-admin}
MASTER_PASSWORD=${MASTER_PASSWORD:-secret}
SEPARATOR=${SEPARATOR:-/}
AUTH_PENALTY=${AUTH_PENALTY:-no}
RAWLOG=${RAWLOG:-no}
LISTESCAPE=${LISTESCAPE:-no}
MAIL_ROOT=${MAIL_ROOT:-}
EXTRA_CONF=${EXTRA_CONF:-}
USERNAME_FORMAT=%n

command -v dovecot >/dev/null || { echo "dovecot not installed (apt-get install dovecot-core dovecot-imapd)" >&2; exit 1; }
command -v openssl >/dev/null || { echo "openssl not installed" >&2; exit 1; }
DV=$(dovecot --version | cut -d' ' -f1)
case "$DV" in
  2.3.*) ;;
  *) echo "dovecot $DV: this script writes Dovecot 2.3 config syntax (Debian 12 bookworm ships 2.3.19);" \
          "Dovecot 2.4 (Debian 13 trixie) renamed many settings and needs a different config" >&2; exit 1 ;;
esac

mkdir -p "$BASE"
BASE=$(cd "$BASE" && pwd)
CONF=$BASE/dovecot.conf

if [ -f "$BASE/run/master.pid" ] && kill -0 "$(cat "$BASE/run/master.pid")" 2>/dev/null; then
  echo "dovecot already running for $BASE (pid $(cat "$BASE/run/master.pid"))" >&2
  exit 1
fi

# --- who runs it -------------------------------------------------------------
if [ "$(id -u)" = 0 ]; then
  RUN_USER=${RUN_USER:-imaptest}
  if ! id -u "$RUN_USER" >/dev/null 2>&1; then
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$RUN_USER"
  fi
  AS=(runuser -u "$RUN_USER" --)
else
  RUN_USER=$(id -un)
  AS=()
fi
RUN_UID=$(id -u "$RUN_USER")
RUN_GROUP=$(id -gn "$RUN_USER")
RUN_GID=$(id -g "$RUN_USER")

mkdir -p "$BASE"/{run,state,log,mail,tls}

# --- TLS: private CA + server leaf (a bare self-signed CA:TRUE cert is rejected
#     by rustls/webpki as an end-entity, so we make a proper 2-level chain) ----
if [ ! -s "$BASE/tls/server.pem" ]; then
  (
    cd "$BASE/tls"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -sha256 \
      -keyout ca.key -out ca.pem -subj "/CN=imap-testbed CA" \
      -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr \
      -subj "/CN=localhost" 2>/dev/null
    printf '%s\n' \
      "basicConstraints=critical,CA:FALSE" \
      "keyUsage=critical,digitalSignature,keyEncipherment" \
      "extendedKeyUsage=serverAuth" \
      "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" > server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
      -days 3650 -sha256 -extfile server.ext -out server.pem 2>/dev/null
    cat server.pem ca.pem > server-chain.pem
    rm -f server.csr
  )
fi

# --- users -------------------------------------------------------------------
: > "$BASE/users"
for u in $USERS; do
  echo "$u:{PLAIN}$PASSWORD:$RUN_UID:$RUN_GID::$BASE/mail/$u::" >> "$BASE/users"
done
echo "$MASTER_USER:{PLAIN}$MASTER_PASSWORD::::::" > "$BASE/master-users"

DH=""
[ -f /usr/share/dovecot/dh.pem ] && DH="ssl_dh = </usr/share/dovecot/dh.pem"

MAIL_PLUGINS=""
IMAP_PLUGINS=""
if [ "$COMPRESS" = yes ]; then MAIL_PLUGINS="zlib"; IMAP_PLUGINS="imap_zlib"; fi
if [ "$LISTESCAPE" = yes ]; then MAIL_PLUGINS="$MAIL_PLUGINS listescape"; fi
if [ -n "$MAIL_ROOT" ]; then
  MAIL_ROOT=$(cd "$MAIL_ROOT" && pwd)
  MAIL_LOCATION="maildir:$MAIL_ROOT/%u:CONTROL=$BASE/control/%u:INDEX=$BASE/index/%u"
  USERNAME_FORMAT=%u
else
  MAIL_LOCATION=$( case "$MAIL_FORMAT" in maildir) echo "maildir:~/Maildir";; sdbox) echo "sdbox:~/sdbox";; mdbox) echo "mdbox:~/mdbox";; *) echo "bad MAIL_FORMAT" >&2; exit 1;; esac )
fi
QUOTA_BLOCK=""
if [ -n "$APPENDLIMIT" ]; then
  MAIL_PLUGINS="$MAIL_PLUGINS quota"
  QUOTA_BLOCK="plugin {
  quota = count:User quota
  quota_rule = *:storage=0
  quota_vsizes = yes
  quota_max_mail_size = $APPENDLIMIT
}
protocol imap {
  imap_capability = +APPENDLIMIT=$APPENDLIMIT
}"
fi
RAWLOG_LINE=""
if [ "$RAWLOG" = yes ]; then
  for u in $USERS; do mkdir -p "$BASE/rawlog/$u"; done
  RAWLOG_LINE="  rawlog_dir = $BASE/rawlog/%n"
fi

cat > "$CONF" <<EOF
# generated by dovecot-up.sh - private test instance, do not use in production
protocols = imap
listen = $LISTEN
base_dir = $BASE/run
state_dir = $BASE/state
instance_name = dovecot-testbed-$IMAP_PORT
log_path = $BASE/log/dovecot.log
info_log_path = $BASE/log/dovecot.log
log_timestamp = "%Y-%m-%d %H:%M:%S "
shutdown_clients = yes
verbose_proctitle = yes

# --- run everything as one unprivileged user ---
default_internal_user = $RUN_USER
default_internal_group = $RUN_GROUP
default_login_user = $RUN_USER
first_valid_uid = $RUN_UID
last_valid_uid = 0
first_valid_gid = 0
service anvil {
  chroot =
$( [ "$AUTH_PENALTY" = no ] && printf '  unix_listener anvil-auth-penalty {\n    mode = 0\n  }' )
}
service imap-login {
  chroot =
  inet_listener imap {
    port = $IMAP_PORT
  }
  inet_listener imaps {
    port = $IMAPS_PORT
    ssl = yes
  }
}
service imap {
  process_limit = 1024
}

# --- TLS ---
ssl = yes
ssl_cert = <$BASE/tls/server-chain.pem
ssl_key = <$BASE/tls/server.key
$DH

# --- auth ---
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_master_user_separator = *
auth_failure_delay = 0
passdb {
  driver = passwd-file
  args = scheme=PLAIN $BASE/master-users
  master = yes
  result_success = continue
}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=$USERNAME_FORMAT $BASE/users
}
userdb {
  driver = passwd-file
  args = username_format=$USERNAME_FORMAT $BASE/users
}

# --- storage ---
mail_location = $MAIL_LOCATION
maildir_very_dirty_syncs = $VERY_DIRTY_SYNCS
mail_fsync = $MAIL_FSYNC
mail_plugins = \$mail_plugins $MAIL_PLUGINS
mail_max_userip_connections = $MAX_CONN_PER_USER_IP
imap_literal_minus = $LITERAL_MINUS

namespace inbox {
  inbox = yes
  separator = $SEPARATOR
  prefix =
  mailbox Drafts {
    special_use = \\Drafts
    auto = subscribe
  }
  mailbox Sent {
    special_use = \\Sent
    auto = subscribe
  }
  mailbox Trash {
    special_use = \\Trash
    auto = subscribe
  }
  mailbox Junk {
    special_use = \\Junk
    auto = subscribe
  }
  mailbox Archive {
    special_use = \\Archive
    auto = subscribe
  }
}

protocol imap {
  mail_plugins = \$mail_plugins $IMAP_PLUGINS
  mail_max_userip_connections = $MAX_CONN_PER_USER_IP
$RAWLOG_LINE
}
$QUOTA_BLOCK
$EXTRA_CONF
EOF

chown -R "$RUN_USER:$RUN_GROUP" "$BASE"
[ -n "$MAIL_ROOT" ] && chown -R "$RUN_USER:$RUN_GROUP" "$MAIL_ROOT"
chmod 600 "$BASE/tls/"*.key "$BASE/users" "$BASE/master-users"

# validate config before starting
"${AS[@]}" doveconf -c "$CONF" -n > "$BASE/doveconf-n.txt"

NSEXEC=()
[ -n "$NETNS" ] && NSEXEC=(ip netns exec "$NETNS")
"${NSEXEC[@]}" "${AS[@]}" dovecot -c "$CONF"

# wait until the banner is served
probe_addr=127.0.0.1
case "$LISTEN" in 127.0.0.1*|"*"|0.0.0.0*) probe_addr=127.0.0.1 ;; ::1*) probe_addr=::1 ;; *) probe_addr=${LISTEN%%,*} ;; esac
for _ in $(seq 1 100); do
  if "${NSEXEC[@]}" python3 - "$probe_addr" "$IMAP_PORT" <<'PY' 2>/dev/null
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1)
b = s.recv(4096)
sys.exit(0 if b.startswith(b"* OK") else 1)
PY
  then
    echo "dovecot up: pid $(cat "$BASE/run/master.pid") imap=$probe_addr:$IMAP_PORT imaps=$probe_addr:$IMAPS_PORT base=$BASE${NETNS:+ netns=$NETNS}"
    echo "  users: $USERS (password '$PASSWORD'), master: <user>*$MASTER_USER ('$MASTER_PASSWORD'); CA: $BASE/tls/ca.pem; log: $BASE/log/dovecot.log"
    exit 0
  fi
  sleep 0.1
done
echo "dovecot did not come up; log:" >&2
tail -20 "$BASE/log/dovecot.log" >&2 || true
exit 1
