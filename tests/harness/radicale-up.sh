#!/usr/bin/env bash
# radicale-up.sh BASE_DIR [PORT]
#
# Starts a private Radicale (CalDAV/CardDAV server from PyPI) on 127.0.0.1:PORT
# (default 5232), storing collections under BASE_DIR/collections. Used by the
# export tests (tests/it/export_dav.rs), which pick a free port and stop it again
# with radicale-down.sh.
#
# The venv: RADICALE_VENV, default ${XDG_CACHE_HOME:-$HOME/.cache}/kerio-migrate/radicale-venv.
# When it has no radicale, this script creates it (python3 -m venv) and installs
# radicale==$RADICALE_VERSION (default 3.9.0) from PyPI.
#
#   AUTH=htpasswd (default): users from USERS="alice bob" with PASSWORD=secret (plain)
#   AUTH=none:               any user name / password is accepted
#   rights: owner_only (each user sees /<user>/... only)
#   TLS=1: serve HTTPS with a private CA (BASE_DIR/tls/ca.pem) and a leaf for
#          localhost / 127.0.0.1 (needs openssl)
#
# Runs in the background; pid in BASE_DIR/radicale.pid, log in BASE_DIR/radicale.log.
# Radicale never answers "Expect: 100-continue": clients must not send it.
set -euo pipefail
BASE=${1:?usage: radicale-up.sh BASE_DIR [PORT]}
PORT=${2:-5232}
AUTH=${AUTH:-htpasswd}
USERS=${USERS:-alice bob}
PASSWORD=${PASSWORD:-secret}
RADICALE_VERSION=${RADICALE_VERSION:-3.9.0}
VENV=${RADICALE_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/kerio-migrate/radicale-venv}
HOST=${HOST:-127.0.0.1}

mkdir -p "$BASE"
BASE=$(cd "$BASE" && pwd)
if [ -f "$BASE/radicale.pid" ] && kill -0 "$(cat "$BASE/radicale.pid")" 2>/dev/null; then
  echo "radicale already running for $BASE (pid $(cat "$BASE/radicale.pid"))" >&2; exit 1
fi
if [ ! -x "$VENV/bin/radicale" ]; then
  echo "radicale-up: creating the venv $VENV (radicale==$RADICALE_VERSION)" >&2
  # Two test processes may get here at once: one creates, the other waits.
  mkdir -p "$(dirname "$VENV")"
  exec 9>"$VENV.lock"
  flock 9
  if [ ! -x "$VENV/bin/radicale" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --disable-pip-version-check -q "radicale==$RADICALE_VERSION"
  fi
  flock -u 9
  exec 9>&-
fi
mkdir -p "$BASE/collections"

: > "$BASE/users"
for u in $USERS; do echo "$u:$PASSWORD" >> "$BASE/users"; done
chmod 600 "$BASE/users"

SSL_BLOCK=""
SCHEME=http
if [ "${TLS:-0}" = 1 ]; then
  command -v openssl >/dev/null || { echo "radicale-up: TLS=1 needs openssl" >&2; exit 1; }
  mkdir -p "$BASE/tls"
  (
    cd "$BASE/tls"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -sha256 \
      -keyout ca.key -out ca.pem -subj "/CN=kerio-migrate test CA" \
      -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr \
      -subj "/CN=localhost" 2>/dev/null
    printf '%s\n' "basicConstraints=critical,CA:FALSE" \
      "keyUsage=critical,digitalSignature,keyEncipherment" \
      "extendedKeyUsage=serverAuth" \
      "subjectAltName=DNS:localhost,IP:127.0.0.1" > server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
      -days 3650 -sha256 -extfile server.ext -out server.pem 2>/dev/null
    rm -f server.csr
  )
  SSL_BLOCK="ssl = True
certificate = $BASE/tls/server.pem
key = $BASE/tls/server.key"
  SCHEME=https
fi

if [ "$AUTH" = htpasswd ]; then
  AUTH_BLOCK="type = htpasswd
htpasswd_filename = $BASE/users
htpasswd_encryption = plain
delay = 0"
else
  AUTH_BLOCK="type = none"
fi

cat > "$BASE/config" <<CFG
[server]
hosts = $HOST:$PORT
$SSL_BLOCK

[auth]
$AUTH_BLOCK

[rights]
type = owner_only

[storage]
filesystem_folder = $BASE/collections

[logging]
level = info
mask_passwords = True
CFG

nohup "$VENV/bin/python" -m radicale --config "$BASE/config" > "$BASE/radicale.log" 2>&1 < /dev/null &
echo $! > "$BASE/radicale.pid"

# Ready when it answers HTTP (any status); checked with the venv's Python,
# so curl is not needed.
for _ in $(seq 1 150); do
  if "$VENV/bin/python" - "$HOST" "$PORT" "$SCHEME" <<'PY' 2>/dev/null
import sys, http.client, ssl
if sys.argv[3] == "https":
    c = http.client.HTTPSConnection(sys.argv[1], int(sys.argv[2]), timeout=1,
                                    context=ssl._create_unverified_context())
else:
    c = http.client.HTTPConnection(sys.argv[1], int(sys.argv[2]), timeout=1)
c.request("GET", "/.web/")
sys.exit(0 if c.getresponse().status in (200, 301, 302, 401) else 1)
PY
  then
    echo "radicale up: pid $(cat "$BASE/radicale.pid") $SCHEME://$HOST:$PORT/ auth=$AUTH base=$BASE"
    exit 0
  fi
  kill -0 "$(cat "$BASE/radicale.pid")" 2>/dev/null || break
  sleep 0.1
done
echo "radicale did not come up; log:" >&2
tail -20 "$BASE/radicale.log" >&2
exit 1
