# isolate RUN_ID REVERT_SECONDS [mgmt=CIDR | allow=PROTO,CIDR,PORT]...: cut the host off the
# network except for management SSH and an explicit allow-list, atomically, with a revert timer
# armed first so that a mistake can never lock the responder out for longer than REVERT_SECONDS.
run=$1 revert=$2
shift 2
case $run in '' | *[!a-z0-9-]*) fail "refused run id" 64 ;; esac
case $revert in '' | *[!0-9]*) fail "refused revert delay" 64 ;; esac
command -v nft >/dev/null 2>&1 || fail "nft is not installed on this host" 69
command -v systemd-run >/dev/null 2>&1 || fail "systemd-run is missing: cannot arm the revert timer" 69

# The management address as this host sees it (NAT and bastions change it): from sshd's
# SSH_CONNECTION, or, when sudo dropped it, from the TCP connection of our own sshd session.
session=${SSH_CONNECTION:-}
if [ -z "$session" ]; then
  pid=$$
  while [ "$pid" -gt 1 ] 2>/dev/null; do
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = sshd ] && break
    pid=$(awk '/^PPid:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
  done
  session=$(ss -Htnp state established 2>/dev/null | grep "pid=$pid," | awk '{ n = split($4, l, ":"); m = split($3, p, ":"); print substr($4, 1, length($4) - length(l[n]) - 1), l[n], substr($3, 1, length($3) - length(p[m]) - 1), p[m] }' | head -n 1 | tr -d '[]')
fi
set -- "$@" $(echo "$session" | awk '{ print "seen=" $1 "," $4 }')

rules=/run/soar/isolation-$run.nft
mkdir -p /run/soar && chmod 700 /run/soar
family() { case $1 in *:*) echo ip6 ;; *) echo ip ;; esac; }
ip_only() { case $1 in *[!0-9a-fA-F:./]*) fail "refused address $1" 64 ;; esac; }
{
  echo "table inet soar_isolation"
  echo "delete table inet soar_isolation"
  echo "table inet soar_isolation {"
  echo "  chain input { type filter hook input priority -200; policy drop;"
  echo "    iif lo accept"
  for item in "$@"; do
    case $item in
      mgmt=* | seen=*)
        value=${item#*=}; address=${value%%,*}; port=22
        case $item in seen=*) port=${value#*,} ;; esac
        ip_only "$address"; case $port in '' | *[!0-9]*) fail "refused port" 64 ;; esac
        echo "    $(family "$address") saddr $address tcp dport $port accept" ;;
      allow=*)
        IFS=, read -r proto address port <<ALLOW
${item#allow=}
ALLOW
        ip_only "$address"; case $proto in tcp | udp) ;; *) fail "refused protocol" 64 ;; esac
        echo "    $(family "$address") saddr $address $proto ${port:+sport $port} ct state established accept" ;;
      *) fail "refused isolation argument" 64 ;;
    esac
  done
  echo "  }"
  echo "  chain output { type filter hook output priority -200; policy drop;"
  echo "    oif lo accept"
  for item in "$@"; do
    case $item in
      mgmt=* | seen=*)
        value=${item#*=}; address=${value%%,*}; port=22
        case $item in seen=*) port=${value#*,} ;; esac
        echo "    $(family "$address") daddr $address tcp sport $port accept" ;;
      allow=*)
        IFS=, read -r proto address port <<ALLOW
${item#allow=}
ALLOW
        echo "    $(family "$address") daddr $address $proto ${port:+dport $port} accept" ;;
    esac
  done
  echo "  }"
  echo "  chain forward { type filter hook forward priority -200; policy drop; }"
  echo "}"
} >"$rules" || fail "cannot write $rules" 1
emit management "$session"
emit ruleset "$(cat "$rules")"

nft -c -f "$rules" 2>/tmp/soar-nft-check.$$ || fail "nft refused the ruleset: $(cat /tmp/soar-nft-check.$$)" 1
rm -f /tmp/soar-nft-check.$$
timer=soar-revert-$run
systemctl stop "$timer.timer" "$timer.service" >/dev/null 2>&1
systemd-run --quiet --unit="$timer" --on-active="$revert" --timer-property=AccuracySec=1s \
  nft delete table inet soar_isolation || fail "cannot arm the revert timer" 1
emit revert_timer "$timer.timer"
nft -f "$rules" || fail "nft failed to apply the ruleset" 1
emit applied 1
emit done 1
