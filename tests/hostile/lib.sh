# source tests/hostile/lib.sh: helpers for the attacks (Dovecot on DPORT, default 21143,
# base DC; the fault proxy on PPORT, default 21200)
KM=${KM:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/target/release/kerio-migrate}
DC=${DC:-/tmp/hostile-dc}
DPORT=${DPORT:-21143}
PPORT=${PPORT:-21200}
export PW=secret
H="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
reset_bench() {  # empty the Dovecot account bench
  doveadm -c $DC/dovecot.conf kick bench >/dev/null 2>&1
  rm -rf $DC/mail/bench
}
counts() {  # messages per mailbox of bench, sorted
  doveadm -c $DC/dovecot.conf mailbox status -u bench messages '*' | sort
}
total() { counts | awk -F'messages=' '{s+=$2} END {print s+0}'; }
dups() {  # Message-ID duplicates per mailbox (messages with a Message-ID only)
  for m in $(doveadm -c $DC/dovecot.conf mailbox list -u bench); do
    n=$(doveadm -c $DC/dovecot.conf fetch -u bench 'hdr.message-id' mailbox "$m" 2>/dev/null | grep -i '^hdr.message-id: <' | sort | uniq -d | wc -l)
    [ "$n" != 0 ] && echo "$m: $n duplicated Message-IDs"
  done
  true
}
proxy_start() {  # proxy_start RULES.json LOG  -> sets PROXY_PID
  python3 $H/faultproxy.py $PPORT $DPORT "$1" "$2" & PROXY_PID=$!
  sleep 0.5
}
proxy_stop() { kill $PROXY_PID 2>/dev/null; wait $PROXY_PID 2>/dev/null; }
km() {  # km PORT STORE STATE [more options]
  local port=$1 store=$2 state=$3; shift 3
  $KM migrate --to imap://127.0.0.1:$port --tls none --account bench@corpus.test \
    --user bench --password-env PW --state $state -q "$@" $store
}
