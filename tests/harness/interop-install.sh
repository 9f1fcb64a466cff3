#!/usr/bin/env bash
# interop-install.sh [ROOT]
#
# Installs Cyrus IMAP 3.6 and Courier-IMAP 5.0 for the interop tests on Debian 12 (bookworm),
# as root. Idempotent, and safe to run from several test processes at once (flock).
# Adapted from the research test bed (shared/testbed/interop/install-servers.sh).
#
# Why not `apt-get install cyrus-imapd courier-imap`: both declare "Conflicts: imap-server",
# so apt would remove dovecot-imapd, which the rest of the suite needs. So:
#   - their shared-library dependencies, and courier-authlib (authdaemond, makeuserdb: no
#     conflict), come from apt;
#   - the server packages themselves (cyrus-common, cyrus-imapd, courier-base, courier-imap,
#     and sasl2-bin for saslpasswd2) are only unpacked (dpkg-deb -x) into ROOT, default
#     /var/tmp/kerio-interop-root (INTEROP_ROOT). No maintainer script of theirs runs, so no
#     system service, user or config is created by them.
# Nothing is started: a policy-rc.d denies service starts while apt runs (courier-authdaemon's
# postinst would otherwise start a system authdaemond).
#
# Versions: the ones the recipes were checked with are pinned below. When Debian has replaced
# one (a point or security release removes the old .deb from the mirror), the current one is
# taken if its upstream version is still the same (3.6.x, 5.0.x), with a warning; any other
# upstream version is refused, since the tests' expectations are about these releases.
#
# Fast path: ROOT/.kerio-interop-installed records what was installed; when it matches and the
# binaries and libraries resolve, the script exits after one dpkg-query (well under a second).
#
# Exit: 0 installed (or already); 1 failed; 2 not root / not Debian 12 (nothing done).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

ROOT=${1:-${INTEROP_ROOT:-/var/tmp/kerio-interop-root}}
# Known-good versions (Debian 12, checked by the test bed); override to try others.
CYRUS_DEB_VERSION=${CYRUS_DEB_VERSION:-3.6.1-4+deb12u5}        # cyrus-common, cyrus-imapd
COURIER_IMAP_DEB_VERSION=${COURIER_IMAP_DEB_VERSION:-5.0.13+1.0.16-3+b6}
COURIER_BASE_DEB_VERSION=${COURIER_BASE_DEB_VERSION:-1.0.16-3+b6}
SASL2_BIN_DEB_VERSION=${SASL2_BIN_DEB_VERSION:-2.1.28+dfsg-10+deb12u1}
# Upstream versions the tests are written for: a candidate outside these is refused.
CYRUS_UPSTREAM_RE='^3\.6\.'
COURIER_UPSTREAM_RE='^5\.0\.'

# From apt: the union of the shared libraries the unpacked binaries link (from the packages'
# Depends: lines), plus courier-authlib's daemon and userdb tools (used, not conflicting).
# libclamav12 is needed because libcyrus_imap.so links it, even with no virus scanning.
APT_PKGS=(
  courier-authlib courier-authdaemon courier-authlib-userdb
  libcourier-unicode4 libidn12 libgamin0 libgdbm6 libgnutls30 libpcre3 libltdl7
  libclamav12 libical3 libicu72 libjansson4 libldap-2.5-0 libpq5 libsqlite3-0 libwrap0
  libxapian30 libxml2 libzephyr4 libkrb5-3 libcom-err2 libssl3 zlib1g libdb5.3 libpam0g
  libcrypt1 libsasl2-2 libsasl2-modules db5.3-util
  # what the up/down scripts run: unshare, setpriv, flock (util-linux), ps (procps: not in a
  # minimal Debian), openssl (password hashes), python3 (syslog receiver, IMAP probes)
  util-linux procps openssl python3
)
DEBS=(
  "cyrus-common=$CYRUS_DEB_VERSION"
  "cyrus-imapd=$CYRUS_DEB_VERSION"
  "courier-base=$COURIER_BASE_DEB_VERSION"
  "courier-imap=$COURIER_IMAP_DEB_VERSION"
  "sasl2-bin=$SASL2_BIN_DEB_VERSION"
)
# What the up-scripts run: each must exist and resolve all its libraries.
BINARIES=(
  usr/lib/cyrus/bin/master usr/lib/cyrus/bin/imapd usr/lib/cyrus/bin/ctl_cyrusdb
  usr/sbin/saslpasswd2
  usr/sbin/couriertcpd usr/bin/imapd usr/lib/courier/courier/imaplogin
  usr/lib/courier/courier/makedatprog usr/bin/maildirmake.courier
)
STAMP=$ROOT/.kerio-interop-installed
# What was asked for when ROOT was made: a change of the pins above (or of their overrides)
# installs again.
WANTED=$ROOT/.kerio-interop-wanted
WANT="${DEBS[*]}"
LIBDIR=$ROOT/usr/lib/x86_64-linux-gnu

log() { echo "[interop-install] $*" >&2; }

if [ "$(id -u)" != 0 ]; then
  log "not root: cannot install Cyrus/Courier (run: sudo bash $0)"; exit 2
fi
if ! grep -q '^VERSION_CODENAME=bookworm' /etc/os-release 2>/dev/null; then
  log "not Debian 12 (bookworm): the pinned .debs and the recipes are for bookworm only"; exit 2
fi

apt_missing() {
  # One dpkg-query for all packages: the fast path must stay fast.
  local status
  status=$(dpkg-query -W -f='${Package} ${Status}\n' "${APT_PKGS[@]}" 2>/dev/null || true)
  local p
  for p in "${APT_PKGS[@]}"; do
    grep -q "^$p install ok installed$" <<<"$status" || echo "$p"
  done
}

# Every binary exists and ldd finds every library (with the unpacked ROOT's own libcyrus*).
binaries_resolve() {
  local b out
  for b in "${BINARIES[@]}"; do
    [ -x "$ROOT/$b" ] || { echo "$ROOT/$b missing"; return 1; }
    out=$(LD_LIBRARY_PATH=$LIBDIR ldd "$ROOT/$b" 2>&1) || { echo "ldd $ROOT/$b: $out"; return 1; }
    if grep -q 'not found' <<<"$out"; then
      echo "$ROOT/$b: $(grep 'not found' <<<"$out" | tr -s ' \t\n' ' ')"; return 1
    fi
  done
}

installed_ok() {
  [ -f "$STAMP" ] && [ "$(cat "$WANTED" 2>/dev/null)" = "$WANT" ] && [ -z "$(apt_missing)" ] \
    && binaries_resolve >/dev/null
}

if installed_ok; then
  log "already installed in $ROOT: $(tr '\n' ' ' < "$STAMP")"; exit 0
fi

# Parallel test binaries may all find it missing: one installs, the others wait, then find it done.
mkdir -p "$(dirname "$ROOT")"
exec 9>"$ROOT.lock"
if ! flock -w 900 9; then log "timed out waiting for $ROOT.lock (another install running?)"; exit 1; fi
if installed_ok; then
  log "installed by another process meanwhile: $(tr '\n' ' ' < "$STAMP")"; exit 0
fi

# Keep postinst scripts (courier-authdaemon) from starting system services. Only removed again
# if this script created it (ci-install.sh may have made one for the whole run).
POLICY_CREATED=0
WORK=
cleanup() {
  [ "$POLICY_CREATED" = 1 ] && rm -f /usr/sbin/policy-rc.d
  [ -n "$WORK" ] && rm -rf "$WORK"
  return 0
}
trap cleanup EXIT
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; POLICY_CREATED=1
fi

apt_updated=0
apt_update_once() { [ $apt_updated = 1 ] || { log "apt-get update"; apt-get update -qq; apt_updated=1; }; }

mapfile -t missing < <(apt_missing)
if [ ${#missing[@]} -gt 0 ]; then
  apt_update_once
  log "apt-get install ${missing[*]}"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# If a system authdaemond got started anyway (no policy-rc.d honoured), stop it: the tests run
# their own in a private mount namespace and the system one is not wanted.
if [ -f /run/courier/authdaemon/pid ] && kill -0 "$(cat /run/courier/authdaemon/pid)" 2>/dev/null; then
  log "stopping a system courier authdaemond that apt started"
  kill "$(cat /run/courier/authdaemon/pid)" || true
fi

# Download the server .debs: pinned version, else the current one with the same upstream version.
WORK=$(mktemp -d /var/tmp/kerio-interop-debs.XXXXXX)
# apt-cache show pkg=version exits 0 even for a version it does not know: ask madison.
apt_has() { apt-cache madison "$1" 2>/dev/null | awk -F' [|] ' '{print $2}' | grep -qxF "$2"; }
resolve_version() {  # pkg pinned upstream_re -> prints version to download
  local pkg=$1 pinned=$2 re=$3 cand up
  if apt_has "$pkg" "$pinned"; then echo "$pinned"; return; fi
  cand=$(apt-cache policy "$pkg" | awk '/Candidate:/ {print $2}')
  [ -n "$cand" ] && [ "$cand" != "(none)" ] || { log "$pkg: no candidate in apt's lists"; return 1; }
  up=${cand#*:}; up=${up%%-*}
  if [ -n "$re" ] && ! [[ $up =~ $re ]]; then
    log "$pkg: pinned $pinned is gone and the candidate $cand is another upstream release; refusing"
    return 1
  fi
  log "WARNING: $pkg $pinned is no longer in apt's lists; using $cand (same upstream release)"
  echo "$cand"
}
download() {
  (cd "$WORK" && apt-get download -qq "$@" >/dev/null 2>"$WORK/download.err")
}
resolve_all() {
  local spec pkg pinned re ver
  # Lists that do not know a pinned version: update once first (here, not in the
  # $(resolve_version) subshells, which would each update again).
  for spec in "${DEBS[@]}"; do
    apt_has "${spec%%=*}" "${spec#*=}" || { apt_update_once; break; }
  done
  specs=()
  for spec in "${DEBS[@]}"; do
    pkg=${spec%%=*}; pinned=${spec#*=}
    case $pkg in
      cyrus-*) re=$CYRUS_UPSTREAM_RE ;;
      courier-imap) re=$COURIER_UPSTREAM_RE ;;
      *) re= ;;
    esac
    ver=$(resolve_version "$pkg" "$pinned" "$re")
    specs+=("$pkg=$ver")
  done
}
resolve_all
log "apt-get download ${specs[*]}"
if ! download "${specs[@]}"; then
  # Stale lists on a kept machine: the .deb they name may be gone from the mirror. Update,
  # resolve again (a replaced pinned version falls back as above), retry once.
  apt_updated=0; apt_update_once; resolve_all
  log "retry: apt-get download ${specs[*]}"
  download "${specs[@]}" || { log "apt-get download failed:"; cat "$WORK/download.err" >&2; exit 1; }
fi

# Unpack into a fresh tree next to ROOT and swap it in, so a half-unpacked ROOT is never seen
# by a test that runs while another process installs (those wait on the lock, but a test that
# never calls this script might not).
NEW=$ROOT.new.$$
rm -rf "$NEW"; mkdir -p "$NEW"
for f in "$WORK"/*.deb; do dpkg-deb -x "$f" "$NEW"; done
# Stamp: package=version of what was unpacked.
for f in "$WORK"/*.deb; do dpkg-deb -W --showformat='${Package}=${Version}\n' "$f"; done \
  | sort > "$NEW/.kerio-interop-installed.tmp"
OLD=
if [ -e "$ROOT" ]; then OLD=$ROOT.old.$$; mv "$ROOT" "$OLD"; fi
mv "$NEW" "$ROOT"
[ -n "$OLD" ] && rm -rf "$OLD"

if ! problem=$(binaries_resolve); then
  log "unpacked, but a binary cannot run: $problem"; exit 1
fi
echo "$WANT" > "$WANTED"
mv "$ROOT/.kerio-interop-installed.tmp" "$STAMP"
getent group courier >/dev/null || { log "group 'courier' missing (courier-authlib's postinst makes it)"; exit 1; }
log "installed in $ROOT: $(tr '\n' ' ' < "$STAMP")"
