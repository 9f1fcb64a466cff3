#!/usr/bin/env bash
# bench/run.sh: ingest benchmark (`make bench`). kerio-migrate against mbsync (isync, the
# fastest pipelined uploader packaged by Debian), the same real messages, in the same run,
# into a private Dovecot 2.3 (mdbox, mail_fsync=never: the server is not the bottleneck),
# on loopback and through a delaying TCP proxy (default 50 ms RTT).
#
#   KERIO_CORPUS=../shared/corpus  real messages (fixtures/), copied COPIES times
#   COPIES=3 RUNS=3 RTT_MS=50 DEPTH=50 (mbsync PipelineDepth)
#   OURS_ARGS="…"                  extra options for kerio-migrate (e.g. "--connections 1")
#
# Prints one JSON line per measurement and a summary table with the ratio
# kerio-migrate / mbsync per network; writes target/bench/results.jsonl.
# Every count is checked on the server (STATUS): kerio-migrate must store every message;
# the rate of each tool is computed over what it really stored (mbsync skips messages
# whose header it finds incomplete, with a warning and exit code 0).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
CORPUS=${KERIO_CORPUS:-$ROOT/../shared/corpus}
COPIES=${COPIES:-3}
RUNS=${RUNS:-3}
RTT_MS=${RTT_MS:-50}
DEPTH=${DEPTH:-50}
OURS_ARGS=${OURS_ARGS:-}
[ -f "$CORPUS/MANIFEST.tsv" ] || { echo "bench: corpus not found at $CORPUS (set KERIO_CORPUS)" >&2; exit 1; }
command -v mbsync >/dev/null || { echo "bench: mbsync not installed (tests/harness/ci-install.sh)" >&2; exit 1; }
command -v dovecot >/dev/null || { echo "bench: dovecot not installed (tests/harness/ci-install.sh)" >&2; exit 1; }

OUT_DIR=$ROOT/target/bench
mkdir -p "$OUT_DIR"
RESULTS=$OUT_DIR/results.jsonl
: > "$RESULTS"
W=$(mktemp -d /tmp/kerio-bench.XXXXXX)
chmod 755 "$W"
PROXY_PID=
cleanup() {
  [ -n "$PROXY_PID" ] && kill "$PROXY_PID" 2>/dev/null || true
  bash "$ROOT/tests/harness/dovecot-down.sh" "$W/dc" >/dev/null 2>&1 || true
  rm -rf "$W"
}
trap cleanup EXIT

echo "[bench] building (release)" >&2
cargo build --release -q
BIN=$ROOT/target/release/kerio-migrate

N=$(python3 bench/make-store.py "$CORPUS/fixtures" "$W/kerio" "$COPIES")
BYTES=$(du -sb "$W/kerio/store" | cut -f1)
echo "[bench] store: $N messages from the corpus (x$COPIES), $BYTES bytes on disk" >&2

# mbsync's source: the same messages as a Maildir (our own Maildir export: CRLF, mtime =
# internal date, flags in the name), in mbsync's "Verbatim" layout. mbsync renames its
# source files, so every run gets a fresh, untimed copy.
"$BIN" -q migrate "$W/kerio" --to "maildir:$W/md" > /dev/null
mkdir -p "$W/mbsrc"
for d in "$W/md/bench@corpus.test"/.Corpus-*; do
  mv "$d" "$W/mbsrc/${d##*/.}"
done
FOLDERS=$(cd "$W/mbsrc" && for d in Corpus-*; do printf '"%s" ' "$d"; done)

USERS=""
for r in $(seq 1 "$RUNS"); do USERS="$USERS ours$r peer$r oursw$r peerw$r"; done
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
PORTS=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
PROXY_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
USERS="$USERS" MAIL_FORMAT=mdbox MAIL_FSYNC=never \
  bash tests/harness/dovecot-up.sh "$W/dc" "$PORT" "$PORTS" > "$W/dovecot-up.log" 2>&1 \
  || { cat "$W/dovecot-up.log" >&2; exit 1; }
python3 bench/delay-proxy.py "$PROXY_PORT" 127.0.0.1 "$PORT" "$RTT_MS" > "$W/proxy.log" 2>&1 &
PROXY_PID=$!
sleep 0.5

now() { date +%s.%N; }

server_count() {  # user -> messages stored in its Corpus-* folders
  python3 - "$PORT" "$1" <<'PY'
import imaplib, sys
m = imaplib.IMAP4("127.0.0.1", int(sys.argv[1])); m.login(sys.argv[2], "secret")
total = 0
for line in m.list()[1]:
    name = line.decode().rsplit(' "/" ', 1)[-1].strip('"')
    if name.startswith("Corpus-"):
        total += int(m.status(name, "(MESSAGES)")[1][0].decode().split()[-1].rstrip(")"))
m.logout(); print(total)
PY
}

emit() {  # tool network user start end
  local count
  count=$(server_count "$3")
  python3 - "$@" "$count" "$N" <<'PY' | tee -a "$RESULTS"
import json, sys
tool, net, user, s, e, count, n = sys.argv[1:8]
wall = float(e) - float(s)
count, n = int(count), int(n)
row = {"tool": tool, "network": net, "messages": n, "stored": count, "wall_s": round(wall, 3),
       "msgs_per_s": round(count / wall, 1)}
if count != n:
    row["dropped"] = n - count
print(json.dumps(row))
# kerio-migrate must deliver everything; a peer's losses are recorded, not fatal.
sys.exit(1 if tool == "kerio-migrate" and count != n else 0)
PY
}

run_ours() {  # port user network
  local s e
  s=$(now)
  BENCH_PASSWORD=secret "$BIN" -q migrate "$W/kerio" --to "imap://127.0.0.1:$1" --tls none \
    --account bench@corpus.test --user "$2" --password-env BENCH_PASSWORD \
    --state "$W/journal-$2.sqlite" --report "$W/report-$2.json" $OURS_ARGS > "$W/ours-$2.out" 2>&1 \
    || { echo "kerio-migrate failed:" >&2; tail -20 "$W/ours-$2.out" >&2; exit 1; }
  e=$(now)
  emit kerio-migrate "$3" "$2" "$s" "$e"
}

run_mbsync() {  # port user network
  local st="$W/mbsync-$2" s e
  mkdir -p "$st"
  cp -a "$W/mbsrc" "$st/src"
  sleep 1.1   # mbsync sleeps when a maildir was modified within the last second
  cat > "$st/mbsyncrc" <<EOF
IMAPAccount bench
Host 127.0.0.1
Port $1
User $2
Pass secret
AuthMechs LOGIN PLAIN
SSLType None
PipelineDepth $DEPTH
Timeout 120

IMAPStore remote
Account bench

MaildirStore local
Path $st/src/
Inbox $st/src/INBOX
SubFolders Verbatim

Channel upload
Far :remote:
Near :local:
Patterns $FOLDERS
Create Far
Sync Push
Expunge None
CopyArrivalDate yes
SyncState $st/
EOF
  s=$(now)
  mbsync -c "$st/mbsyncrc" upload > "$st/mbsync.out" 2>&1 || { tail -20 "$st/mbsync.out" >&2; exit 1; }
  e=$(now)
  emit "mbsync-depth$DEPTH" "$3" "$2" "$s" "$e"
  grep -c "skipping" "$st/mbsync.out" > "$OUT_DIR/mbsync-skipped-$3.txt" || true
  grep "Warning" "$st/mbsync.out" | head -20 > "$OUT_DIR/mbsync-warnings-$3.txt" || true
  rm -rf "$st"
}

for r in $(seq 1 "$RUNS"); do
  echo "[bench] round $r/$RUNS" >&2
  run_ours "$PORT" "ours$r" loopback
  run_mbsync "$PORT" "peer$r" loopback
  run_ours "$PROXY_PORT" "oursw$r" "rtt${RTT_MS}ms"
  run_mbsync "$PROXY_PORT" "peerw$r" "rtt${RTT_MS}ms"
done

python3 - "$RESULTS" "$(nproc)" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
by = {}
for r in rows:
    by.setdefault((r["network"], r["tool"]), []).append(r["msgs_per_s"])
print(f"\nIngest into Dovecot 2.3 (mdbox, mail_fsync=never), {rows[0]['messages']} real messages, "
      f"median of {len(next(iter(by.values())))} rounds, {sys.argv[2]} CPUs")
stored = {}
for r in rows:
    stored[(r["network"], r["tool"])] = r["stored"]
print(f"{'network':<12} {'tool':<16} {'msgs/s (median)':>16} {'min..max':>16} {'stored':>12}")
for (net, tool), v in sorted(by.items()):
    print(f"{net:<12} {tool:<16} {statistics.median(v):>16.0f} {min(v):>7.0f}..{max(v):<7.0f}"
          f" {stored[(net, tool)]:>6}/{rows[0]['messages']}")
for net in sorted({k[0] for k in by}):
    ours = [statistics.median(v) for (n, t), v in by.items() if n == net and t == "kerio-migrate"]
    peer = [statistics.median(v) for (n, t), v in by.items() if n == net and t.startswith("mbsync")]
    if ours and peer:
        print(f"{net}: kerio-migrate / mbsync = {ours[0] / peer[0]:.1f}x")
PY
echo "[bench] results: $RESULTS" >&2
