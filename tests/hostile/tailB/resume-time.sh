#!/usr/bin/env bash
# resume-time.sh BIN USER NAME [KILL_AT]: fresh user and journal; a run of the 13,980-message
# store SIGKILLed at KILL_AT s (default 0.8); then the resume run: the time until the server's
# count first grows (doveadm polled every 0.05 s) and until it ends; user+sys CPU of the resume.
source "$(dirname "$0")/lib.sh"
bin=$1 u=$2 name=$3 at=${4:-0.8}; W=/dev/shm/tailB-w; J=$W/$name.sqlite; rm -f $J*
reset_u $u
( exec $bin migrate --to imap://127.0.0.1:21443 --tls none --account bench@corpus.test --user $u --password-env PW --state $J -q /dev/shm/tailB-s14k >/dev/null 2>&1 ) &
kp=$!; sleep $at; kill -9 $kp 2>/dev/null; wait $kp 2>/dev/null
n0=$(total $u); s=$(date +%s.%N)
( exec /usr/bin/time -f "%U %S" -o $W/$name.time $bin migrate --to imap://127.0.0.1:21443 --tls none --account bench@corpus.test --user $u --password-env PW --state $J -q /dev/shm/tailB-s14k >$W/$name.out 2>&1 ) &
kp=$!; first=
while kill -0 $kp 2>/dev/null; do
  [ -z "$NOPOLL" ] && [ -z "$first" ] && [ "$(total $u)" -gt "$n0" ] && first=$(echo "$(date +%s.%N)-$s" | bc)
  sleep 0.05
done
wait $kp; rc=$?; e=$(echo "$(date +%s.%N)-$s" | bc)
printf "%s at-kill=%s first-new=%ss end=%.2fs rc=%s cpu(u s)=%s server=%s\n" $name $n0 "${first:-none}" $e $rc "$(cat $W/$name.time)" $(total $u)
