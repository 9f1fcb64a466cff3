#!/usr/bin/env bash
# kill14k.sh NAME SEED USER [km options]: tailB's ../kill14k.sh (own Dovecot, fresh USER, /dev/shm):
# 10 runs SIGKILLed at random moments (0.3..MAXT s, default 9.5, from SEED), a final run to
# the end, then one more run that must migrate 0; per-mailbox counts must be 10 x 1398.
source "$(dirname "$0")/lib.sh"
name=$1 seed=$2 u=$3; shift 3
BIN=${BIN:-$NEW}; W=/dev/shm/tailB-w; mkdir -p $W
reset_u $u
J=$W/$name.sqlite; rm -f $J*
cd /dev/shm
for t in $(python3 -c "import random; r=random.Random($seed); print(' '.join('%.2f' % r.uniform(0.3, ${MAXT:-9.5}) for _ in range(10)))"); do
  ( exec $BIN migrate --to imap://127.0.0.1:21443 --tls none --account bench@corpus.test --user $u --password-env PW --state $J -q "$@" /dev/shm/tailB-s14k >$W/$name.out 2>&1 ) &
  kp=$!; sleep $t
  if kill -9 $kp 2>/dev/null; then st=killed; else st=ended; fi
  wait $kp 2>/dev/null
  echo "t=$t $st: server $(total $u)"
done
km $BIN 21443 $u /dev/shm/tailB-s14k $J -q "$@" >$W/$name.final.out 2>&1
echo "final rc=$?: $(grep -E '^TOTAL' $W/$name.final.out)"
grep -E "in flight" $W/$name.final.out | head -3
km $BIN 21443 $u /dev/shm/tailB-s14k $J -q "$@" >$W/$name.again.out 2>&1
echo "again rc=$?: $(grep -E '^TOTAL' $W/$name.again.out)"
echo "server: $(total $u): $(counts $u | awk '{print $2}' | sort | uniq -c | tr '\n' ' ')"
python3 - "$u" <<'PY'
import imaplib, sys, collections
m = imaplib.IMAP4("127.0.0.1", 21443); m.login(sys.argv[1], "secret")
dup = 0
for line in m.list()[1]:
    name = line.decode().rsplit(' "." ', 1)[-1].rsplit(' "/" ', 1)[-1].strip('"')
    n = int(m.select('"%s"' % name, readonly=True)[1][0])
    if not n: continue
    c = collections.Counter(it[1] for it in m.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")[1] if isinstance(it, tuple))
    dup += sum(v - 1 for v in c.values())
print("Message-ID header copies beyond the first, all mailboxes:", dup)
PY
