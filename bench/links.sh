#!/usr/bin/env bash
# bench/links.sh: the long-link part of `make bench` alone, for quick before/after
# comparisons: kerio-migrate (no mbsync) into a private Dovecot (mdbox, mail_fsync=never)
# on loopback and through bench/trace-proxy.py at each RTT (RTTS, default "50 200"), then
# a rerun with nothing to do. Prints one line per run (wall seconds, ratio to loopback) and
# the serial round trips the trace counted per connection verb.
#
#   BIN=target/release/kerio-migrate  COPIES=3  RTTS="50 200"  RUNS=1  OURS_ARGS="…"
#   KEEP=1: keep the work directory (traces: trace-RTT.jsonl; logs, reports)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
CORPUS=${KERIO_CORPUS:-$ROOT/../shared/corpus}
BIN=${BIN:-$ROOT/target/release/kerio-migrate}
COPIES=${COPIES:-3}
RTTS=${RTTS:-50 200}
RUNS=${RUNS:-1}
OURS_ARGS=${OURS_ARGS:-}
W=$(mktemp -d /tmp/kerio-links.XXXXXX)
chmod 755 "$W"
PIDS=""
cleanup() {
  for p in $PIDS; do kill "$p" 2>/dev/null || true; done
  bash "$ROOT/tests/harness/dovecot-down.sh" "$W/dc" >/dev/null 2>&1 || true
  if [ -n "${KEEP:-}" ]; then echo "kept $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT
N=$(python3 bench/make-store.py "$CORPUS/fixtures" "$W/kerio" "$COPIES")
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(free_port)
NETS="0"
for rtt in $RTTS; do NETS="$NETS $rtt"; done
USERS=""
for r in $(seq 1 "$RUNS"); do for n in $NETS; do USERS="$USERS u$n-$r"; done; done
USERS="$USERS" MAIL_FORMAT=mdbox MAIL_FSYNC=never \
  bash tests/harness/dovecot-up.sh "$W/dc" "$PORT" "$(free_port)" > "$W/up.log" 2>&1 \
  || { cat "$W/up.log" >&2; exit 1; }
declare -A NP=([0]=$PORT)
for rtt in $RTTS; do
  p=$(free_port)
  python3 bench/trace-proxy.py "$p" 127.0.0.1 "$PORT" "$rtt" "$W/trace-$rtt.jsonl" > /dev/null 2>&1 &
  PIDS="$PIDS $!"
  NP[$rtt]=$p
done
sleep 0.5
echo "store: $N messages, $COPIES folders"
ours() {  # port user [options…]
  local port=$1 user=$2
  shift 2
  BENCH_PASSWORD=secret "$BIN" -q migrate "$W/kerio" --to "imap://127.0.0.1:$port" --tls none \
    --account bench@corpus.test --user "$user" --password-env BENCH_PASSWORD \
    --state "$W/j-$user.sqlite" --report "$W/r-$user.json" $OURS_ARGS "$@" > "$W/o-$user.out" 2>&1 \
    || { tail -20 "$W/o-$user.out" >&2; exit 1; }
}
for r in $(seq 1 "$RUNS"); do
  for n in $NETS; do
    [ "$n" = 0 ] || : > "$W/trace-$n.jsonl"
    s=$(date +%s.%N)
    ours "${NP[$n]}" "u$n-$r"
    e=$(date +%s.%N)
    t=$(python3 -c "print(round($e-$s,3))")
    migrated=$(python3 -c "import json;print(json.load(open('$W/r-u$n-$r.json'))['totals']['migrated'])")
    [ "$n" = 0 ] && base=$t
    echo "run $r rtt ${n}ms: ${t}s  ratio $(python3 -c "print(round($t/$base,2))")  migrated $migrated"
    if [ "$n" != 0 ]; then
      sleep 1
      python3 bench/trace-proxy.py --summary "$W/trace-$n.jsonl" | head -40
      python3 - "$W/trace-$n.jsonl" "$n" <<'PY'
import json, sys
recs = [json.loads(x) for x in open(sys.argv[1])]
rtt = float(sys.argv[2]) / 1000
t0 = min(r["sent"] for r in recs)
# Where the time goes: per connection, its first command and last answer; per mailbox,
# when its APPENDs ran (first sent, last answered), in round trips from the first command.
for c in sorted({r["conn"] for r in recs}):
    rs = [r for r in recs if r["conn"] == c]
    print(f"  conn {c}: {rs[0]['verb']} at {(rs[0]['sent']-t0)/rtt:.1f} RTT, last answer at "
          f"{(max(r['done'] for r in rs)-t0)/rtt:.1f} RTT")
boxes = {}
for r in recs:
    if r["verb"] == "APPEND":
        b = boxes.setdefault(r["arg"], [1e18, 0, 0])
        b[0] = min(b[0], r["sent"]); b[1] = max(b[1], r["done"]); b[2] += 1
for k, (a, b, n) in sorted(boxes.items(), key=lambda x: x[1][0]):
    print(f"  {k}: {n} APPENDs from {(a-t0)/rtt:.1f} to {(b-t0)/rtt:.1f} RTT")
print(f"  total {(max(r['done'] for r in recs)-t0)/rtt:.1f} RTT")
PY
      s=$(date +%s.%N)
      ours "${NP[$n]}" "u$n-$r"
      e=$(date +%s.%N)
      echo "run $r rtt ${n}ms rerun (nothing to do): $(python3 -c "print(round($e-$s,3))")s"
    fi
  done
  s=$(date +%s.%N)
  ours "$PORT" "u0-$r"
  e=$(date +%s.%N)
  echo "run $r loopback rerun (nothing to do): $(python3 -c "print(round($e-$s,3))")s"
done
