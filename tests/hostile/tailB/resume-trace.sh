#!/usr/bin/env bash
# resume-trace.sh BIN USER NAME [KILL_AT]: like resume-time.sh, but the resume run goes through
# ../faultproxy.py (no rules, TRACE): prints when (s after the proxy's first connection) the
# resume run sent its first APPEND, how many SEARCH / FETCH / STATUS commands came before it, and the end.
source "$(dirname "$0")/lib.sh"
bin=$1 u=$2 name=$3 at=${4:-0.8}; W=/dev/shm/tailB-w; J=$W/$name.sqlite; rm -f $J* $W/$name.proxy.log
reset_u $u
( exec $bin migrate --to imap://127.0.0.1:21443 --tls none --account bench@corpus.test --user $u --password-env PW --state $J -q /dev/shm/tailB-s14k >/dev/null 2>&1 ) &
kp=$!; sleep $at; kill -9 $kp 2>/dev/null; wait $kp 2>/dev/null
n0=$(total $u)
proxy_start $T/none.json $W/$name.proxy.log
km $bin 21500 $u /dev/shm/tailB-s14k $J -q >$W/$name.out 2>&1; rc=$?
proxy_stop
L=$W/$name.proxy.log
t0=$(grep -m1 ': open$' $L | awk '{print $1}')
ta=$(grep -m1 -E '> \S+ APPEND' $L | awk '{print $1}')
pre=$(awk '/> \S+ APPEND/{exit} {print}' $L)
te=$(tail -1 $L | awk '{print $1}')
echo "$name at-kill=$n0 rc=$rc first-APPEND=$(echo "$ta-$t0"|bc)s end=$(echo "$te-$t0"|bc)s before it: SEARCH=$(echo "$pre" | grep -c ' SEARCH') FETCH=$(echo "$pre" | grep -c ' FETCH') STATUS=$(echo "$pre" | grep -c ' STATUS') SELECT/EXAMINE=$(echo "$pre" | grep -cE ' (SELECT|EXAMINE)') | $(grep ^TOTAL $W/$name.out)"
