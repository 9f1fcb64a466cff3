#!/bin/bash
# bench/kill-rerun.sh: how long the rerun after a SIGKILL takes through a delay line, for
# two builds on the same store (A, B: paths of kerio-migrate binaries; B defaults to this
# build), each into its own Dovecot user. Prints, per build, what the server and the journal
# held at the kill, the rerun time and the server count after it (must be the store size).
#   A=/path/old/kerio-migrate [B=...] RTT=200 KILL_AFTER=1.2 COPIES=3 bash bench/kill-rerun.sh
# Measured 2026-12-04 (A=8a942b1, B=75a8210, RTT=200, ~3,000 pending): 52.6 s vs 7.5 s.
set -u
cd "$(dirname "$0")/.."; CORPUS=${KERIO_CORPUS:-../shared/corpus}
W=${W:-$(mktemp -d /tmp/kill-rerun.XXXXXX)}; rm -rf "$W"; mkdir -p "$W"
PORT=17991; PX=17993
USERS="old new" MAIL_FORMAT=mdbox MAIL_FSYNC=never bash tests/harness/dovecot-up.sh $W/dc $PORT 17992 > $W/dc.log 2>&1
python3 bench/make-store.py "$CORPUS/fixtures" $W/store ${COPIES:-3} > /dev/null
python3 bench/delay-proxy.py $PX 127.0.0.1 $PORT ${RTT:-50} > $W/proxy.log 2>&1 & PXPID=$!
sleep 0.5
count() { python3 - $PORT $1 <<'PY'
import imaplib,sys
m=imaplib.IMAP4("127.0.0.1",int(sys.argv[1])); m.login(sys.argv[2],"secret"); t=0
for l in m.list()[1]:
    n=l.decode().rsplit(' "/" ',1)[-1].strip('"')
    if n.startswith("Corpus-"): t+=int(m.status(n,"(MESSAGES)")[1][0].decode().split()[-1].rstrip(")"))
print(t)
PY
}
for who in old new; do
  bin=${B:-target/release/kerio-migrate}; [ $who = old ] && bin=${A:?A=path of the other build}
  args=(migrate $W/store --to imap://127.0.0.1:$PX --tls none --account bench@corpus.test --user $who --password-env PW --state $W/j-$who.sqlite)
  PW=secret $bin -q "${args[@]}" --report $W/r1-$who.json > $W/o1-$who 2>&1 & pid=$!
  sleep ${KILL_AFTER:-1.2}; kill -9 $pid; wait $pid 2>/dev/null
  pend=$(sqlite3 $W/j-$who.sqlite "select count(*) from items where state='pending'")
  done_=$(sqlite3 $W/j-$who.sqlite "select count(*) from items where state='done'")
  c1=$(count $who)
  s=$(date +%s.%N)
  PW=secret $bin -v --log-format json "${args[@]}" --report $W/r2-$who.json > $W/o2-$who 2> $W/e2-$who
  rc=$?; e=$(date +%s.%N)
  c2=$(count $who)
  echo "$( [ $who = old ] && echo "A $A" || echo "B ${B:-target/release/kerio-migrate}"): at kill server=$c1 journal done=$done_ pending=$pend; rerun rc=$rc $(echo "$e - $s" | bc) s; server after=$c2"
done
kill $PXPID; bash tests/harness/dovecot-down.sh $W/dc > /dev/null; rm -rf "$W"
