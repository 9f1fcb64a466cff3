#!/usr/bin/env bash
# kill14k.sh NAME SEED [km options]: fresh account and journal; 10 runs of the
# 13,980-message store, each SIGKILLed at a random moment (0.3..MAXT s, default 9.5, from SEED),
# then a final run to the end; per-mailbox counts must be 10 x 1398.
source "$(dirname "$0")/lib.sh"
name=$1 seed=$2; shift 2
reset_bench
J=/tmp/hostile-$name.sqlite; rm -f $J*
cd /tmp
for t in $(python3 -c "import random; r=random.Random($seed); print(' '.join('%.2f' % r.uniform(0.3, ${MAXT:-9.5}) for _ in range(10)))"); do
  ( exec $KM migrate --to imap://127.0.0.1:${PORT:-21143} --tls none --account bench@corpus.test --user bench --password-env PW --state $J -q "$@" /tmp/hostile-s14k >/tmp/hostile-$name.out 2>&1 ) &
  kp=$!; sleep $t
  if kill -9 $kp 2>/dev/null; then st=killed; else st=ended; fi
  wait $kp 2>/dev/null
  echo "t=$t $st: server $(total)"
done
$KM migrate --to imap://127.0.0.1:${PORT:-21143} --tls none --account bench@corpus.test --user bench --password-env PW --state $J -q "$@" /tmp/hostile-s14k >/tmp/hostile-$name.final.out 2>&1
echo "final rc=$?: $(grep -E '^TOTAL' /tmp/hostile-$name.final.out)"
echo "server: $(total): $(counts | tr '\n' ' ')"
grep -E "FAILED|doubt|duplicate" /tmp/hostile-$name.final.out | head -5
