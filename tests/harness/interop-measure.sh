#!/usr/bin/env bash
# interop-measure.sh BINARY STORE ACCOUNT [WORKDIR]
#
# What today's kerio-migrate does against each interop server (issue 8's table): for Cyrus
# with Debian's namespace, Cyrus with upstream's, and Courier, it starts a fresh private
# server, then runs
#   plan      (what the tool predicts),
#   migrate   (--report JSON; the failures grouped by reason),
#   migrate   again (a rerun must append nothing),
#   verify    and verify --deep,
# lists what is on the server (mailbox, flags, message count) and stops it.
# Everything is kept in WORKDIR (default a new temp dir): <config>/{plan,migrate,rerun,
# verify,verify-deep}.txt, report.json, tree.txt, and summary.txt for all three.
#
# Needs root (the servers' namespaces). The login is anna with a throw-away password that
# reaches the tool through --password-env, never an argument.
set -euo pipefail
BIN=$(realpath "${1:?usage: interop-measure.sh BINARY STORE ACCOUNT [WORKDIR]}")
STORE=$(realpath "${2:?store}"); ACCOUNT=${3:?account}
HARNESS=$(cd "$(dirname "$0")" && pwd)
WORK=${4:-$(mktemp -d /tmp/kerio-interop-measure.XXXXXX)}
mkdir -p "$WORK"; WORK=$(cd "$WORK" && pwd); chmod 755 "$WORK"
PY=${PY:-$( [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || echo python3 )}
export IMAP_USERS=anna IMAP_USER=anna
export IMAP_PASS=measure-$$-$RANDOM KM_PW
KM_PW=$IMAP_PASS

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Failures of report.json grouped by reason, with the server's words, and the counts.
summarise() {
  "$PY" - "$1" <<'PY'
import collections, json, re, sys
r = json.load(open(sys.argv[1]))
t = r["totals"]
print(f"  totals: {json.dumps(t)}")
groups = collections.OrderedDict()
for a in r["accounts"]:
    for f in a["folders"]:
        for x in f.get("failed", []):
            # One group per reason with the folder name taken out, so that the same server
            # answer to different folders counts together.
            key = re.sub(r"CREATE .*?: ", "CREATE <folder>: ", x["reason"])
            key = re.sub(r"^(target mailbox not available): [^→]*→ \S+: \S+: ", r"\1: ", key)
            groups.setdefault(key, []).append(f'{f["folder"]}/{x["item"]}')
for k, v in groups.items():
    print(f"  {len(v):3d} x {k}")
    print(f"        {', '.join(v)}")
for a in r["accounts"]:
    for f in a["folders"]:
        print(f'  {f["folder"]!r:28} -> {str(f.get("mailbox"))!r:30} {f["counts"]["migrated"]}/{f["counts"]["expected"]}')
PY
}

# Whatever happens (an error, ^C), the server of the moment is stopped.
CURRENT=()
trap '[ ${#CURRENT[@]} = 0 ] || bash "$HARNESS/${CURRENT[0]}" "${CURRENT[1]}" >/dev/null 2>&1 || true' EXIT

measure() {  # name up-script down-script [VAR=value...]
  local name=$1 up=$2 down=$3; shift 3
  local d=$WORK/$name port url rc
  # A server left from an earlier run in the same WORKDIR is stopped before its files go.
  bash "$HARNESS/$down" "$d/server" > /dev/null
  rm -rf "$d"; mkdir -p "$d"
  CURRENT=("$down" "$d/server")
  port=$(free_port); url=imap://127.0.0.1:$port
  env "$@" bash "$HARNESS/$up" "$d/server" "$port" > "$d/up.txt"
  local common=(--account "$ACCOUNT" --to "$url" --tls none --user anna --password-env KM_PW)
  (cd "$d" && "$BIN" plan "$STORE" "${common[@]}" -q > plan.txt 2>&1) || true
  rc=0; (cd "$d" && "$BIN" migrate "$STORE" "${common[@]}" --state journal.sqlite --report report.json -q > migrate.txt 2>&1) || rc=$?
  echo "$rc" > "$d/migrate.rc"
  (cd "$d" && "$BIN" migrate "$STORE" "${common[@]}" --state journal.sqlite --report rerun.json -q > rerun.txt 2>&1) || true
  (cd "$d" && "$BIN" verify "$STORE" "${common[@]}" --state journal.sqlite -q > verify.txt 2>&1) || true
  (cd "$d" && "$BIN" verify "$STORE" "${common[@]}" --state journal.sqlite --deep -q > verify-deep.txt 2>&1) || true
  "$PY" "$HARNESS/interop-imap.py" tree "$port" > "$d/tree.txt" 2>&1 || true
  bash "$HARNESS/$down" "$d/server" > "$d/down.txt"
  CURRENT=()
  {
    echo "=== $name ($(tail -c +1 "$d/up.txt" | sed -n 's/.*greeting: //p' | cut -c1-120))"
    echo "  migrate exit code $rc"
    summarise "$d/report.json"
    echo "  plan: $(grep -E '^TOTAL' "$d/plan.txt" || tail -1 "$d/plan.txt")"
    echo "  rerun: $(grep -E '^TOTAL' "$d/rerun.txt" || tail -1 "$d/rerun.txt")"
    echo "  verify: $(grep -E '^TOTAL' "$d/verify.txt" || tail -1 "$d/verify.txt")"
    echo "  verify --deep: $(grep -E '^TOTAL' "$d/verify-deep.txt" || tail -1 "$d/verify-deep.txt")"
    echo "  on the server (messages, flags, mailbox):"
    sed 's/^/    /' "$d/tree.txt"
  } | tee -a "$WORK/summary.txt"
}

: > "$WORK/summary.txt"
measure cyrus-debian cyrus-up.sh cyrus-down.sh ALTNS=0 UNIXSEP=0
measure cyrus-upstream cyrus-up.sh cyrus-down.sh ALTNS=1 UNIXSEP=1
measure courier courier-up.sh courier-down.sh
echo "results in $WORK"
