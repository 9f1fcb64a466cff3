# source tests/hostile/tailA/lib.sh: tailA's own Dovecot (21643) and proxy port (21700),
# so the attacks do not share the account with other helpers. Same helpers as ../lib.sh.
NEW=${NEW:-/tmp/km3/kerio-migrate}
OLD=${OLD:-/tmp/km/kerio-migrate}
KM=${KM:-$NEW}
DC=${DC:-/tmp/tailA-dc}
DPORT=${DPORT:-21643}
PPORT=${PPORT:-21700}
export PW=secret
T="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
H="$(cd "$T/.." && pwd)"
reset_bench() { doveadm -c $DC/dovecot.conf kick bench >/dev/null 2>&1; rm -rf $DC/mail/bench; }
counts() { doveadm -c $DC/dovecot.conf mailbox status -u bench messages '*' | sort; }
total() { counts | awk -F'messages=' '{s+=$2} END {print s+0}'; }
proxy_start() {  # proxy_start RULES.json LOG
  python3 $H/faultproxy.py $PPORT $DPORT "$1" "$2" & PROXY_PID=$!
  sleep 0.5
}
proxy_stop() { kill $PROXY_PID 2>/dev/null; wait $PROXY_PID 2>/dev/null; }
km() {  # km PORT STORE STATE [more options]
  local port=$1 store=$2 state=$3; shift 3
  $KM migrate --to imap://127.0.0.1:$port --tls none --account bench@corpus.test \
    --user bench --password-env PW --state $state -q "$@" $store
}
