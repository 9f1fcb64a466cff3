#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian 12 (bookworm) machine, as root.
# Idempotent. Called by .ci/run; run it yourself once before `make test` on a new machine.
#   - Dovecot 2.3 (private instances are started by the tests, never the system one)
#   - isync (mbsync, the benchmark peer), openssl
#   - libssl-dev + pkg-config for native-tls
#   - chromium (headless: the HTML report's test renders the page in it)
#   - cargo-deb (pinned) for `make deb`; binutils (objcopy) strips the packaged binary, dpkg-dev gives its library dependencies
#   - a Python venv with Radicale for the CardDAV/CalDAV tests (RADICALE_VENV)
#   - a Python venv with kubernetes-validate for the docs/deploy manifest test (K8S_VALIDATE_VENV)
#   - Cyrus IMAP 3.6 and Courier-IMAP 5.0 for the interop tests, unpacked into INTEROP_ROOT
#     (they conflict with dovecot-imapd as packages: see interop-install.sh)
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
RADICALE_VENV=${RADICALE_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/kerio-migrate/radicale-venv}
RADICALE_VERSION=${RADICALE_VERSION:-3.9.0}
K8S_VALIDATE_VENV=${K8S_VALIDATE_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/kerio-migrate/k8s-validate-venv}
K8S_VALIDATE_VERSION=${K8S_VALIDATE_VERSION:-1.37.0}

if [ "$(id -u)" = 0 ]; then
  # Keep package postinst scripts from starting a system Dovecot on 143/993.
  POLICY_CREATED=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; POLICY_CREATED=1
  fi
  trap '[ $POLICY_CREATED = 1 ] && rm -f /usr/sbin/policy-rc.d' EXIT
  PKGS=(dovecot-core dovecot-imapd isync openssl libssl-dev pkg-config chromium binutils dpkg-dev)
  missing=()
  for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "[ci-install] apt-get install ${missing[*]}"
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  if [ -f /run/dovecot/master.pid ] && kill -0 "$(cat /run/dovecot/master.pid)" 2>/dev/null; then
    kill "$(cat /run/dovecot/master.pid)" || true
  fi
  # After Dovecot: interop-install.sh leaves dovecot-imapd alone (it never apt-installs the
  # conflicting servers). It skips all work when already installed (one dpkg-query, ldd).
  # Exit 2 means "not Debian 12": the interop tests then fail to start their servers and say
  # why; the rest of the suite does not depend on them.
  rc=0; bash "$(dirname "$0")/interop-install.sh" || rc=$?
  if [ $rc = 2 ]; then echo "[ci-install] Cyrus/Courier not installed (see above)" >&2; elif [ $rc != 0 ]; then exit $rc; fi
else
  echo "[ci-install] not root: skipping apt-get (need dovecot-core dovecot-imapd isync openssl libssl-dev pkg-config chromium binutils dpkg-dev)" >&2
  echo "[ci-install] not root: skipping Cyrus/Courier (sudo bash tests/harness/interop-install.sh)" >&2
fi

if [ ! -x "$RADICALE_VENV/bin/radicale" ]; then
  echo "[ci-install] creating the Radicale venv in $RADICALE_VENV"
  python3 -m venv "$RADICALE_VENV"
  "$RADICALE_VENV/bin/pip" install -q --disable-pip-version-check "radicale==$RADICALE_VERSION"
fi

if [ ! -x "$K8S_VALIDATE_VENV/bin/kubernetes-validate" ]; then
  echo "[ci-install] creating the kubernetes-validate venv in $K8S_VALIDATE_VENV"
  python3 -m venv "$K8S_VALIDATE_VENV"
  "$K8S_VALIDATE_VENV/bin/pip" install -q --disable-pip-version-check "kubernetes-validate==$K8S_VALIDATE_VERSION"
fi

# cargo-deb for `make deb`, pinned; built once (5 min on one busy core), then found in ~/.cargo/bin.
CARGO_DEB_VERSION=${CARGO_DEB_VERSION:-3.8.0}
if ! cargo deb --version 2>/dev/null | grep -q "$CARGO_DEB_VERSION"; then
  echo "[ci-install] cargo install cargo-deb $CARGO_DEB_VERSION"
  cargo install --locked --quiet cargo-deb --version "$CARGO_DEB_VERSION"
fi

echo "[ci-install] chromium $(chromium --version 2>/dev/null || echo missing)," \
     "cargo-deb $(cargo deb --version 2>/dev/null || echo missing)"
echo "[ci-install] dovecot $(dovecot --version 2>/dev/null || echo missing)," \
     "mbsync $(mbsync --version 2>/dev/null | head -1 || echo missing)," \
     "radicale $("$RADICALE_VENV/bin/python" -c 'import radicale; print(radicale.VERSION)' 2>/dev/null || echo missing)," \
     "kubernetes-validate $("$K8S_VALIDATE_VENV/bin/pip" show kubernetes-validate 2>/dev/null | sed -n 's/^Version: //p' || echo missing)," \
     "cyrus/courier $(tr '\n' ' ' < "${INTEROP_ROOT:-/var/tmp/kerio-interop-root}/.kerio-interop-installed" 2>/dev/null || echo missing)"
