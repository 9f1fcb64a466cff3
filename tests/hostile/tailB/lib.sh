# source tests/hostile/tailB/lib.sh: tailB's helpers (own Dovecot 21443, users u1..u40, proxy 21500)
NEW=${NEW:-/tmp/km3/kerio-migrate}; OLD=${OLD:-/tmp/km/kerio-migrate}
DC=/dev/shm/tailB-dc; export PW=secret
T="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
reset_u() { doveadm -c $DC/dovecot.conf kick $1 >/dev/null 2>&1; rm -rf $DC/mail/$1; }
counts() { doveadm -c $DC/dovecot.conf mailbox status -u $1 messages '*' | sort; }
total() { counts $1 | awk -F'messages=' '{s+=$2} END {print s+0}'; }
proxy_start() { TRACE=1 python3 $T/../faultproxy.py 21500 21443 "$1" "$2" & PROXY_PID=$!; sleep 0.5; }
proxy_stop() { kill $PROXY_PID 2>/dev/null; wait $PROXY_PID 2>/dev/null; }
km() {  # km BIN PORT USER STORE STATE [opts]
  local bin=$1 port=$2 u=$3 store=$4 state=$5; shift 5
  $bin migrate --to imap://127.0.0.1:$port --tls none --account ${ACCT:-bench@corpus.test} \
    --user $u --password-env PW --state $state "$@" $store
}
