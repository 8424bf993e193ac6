# isolate RUN_ID REVERT_SECONDS [mgmt=ADDRESS[/BITS] | allow=PROTO,ADDRESS[/BITS],[PORT]]...: cut the
# host off the network except management SSH and an explicit allow-list, atomically, after arming a
# timer that removes the isolation again unless isolate-confirm disarms it within REVERT_SECONDS.
run=$1 revert=$2
shift 2
case $run in '' | *[!a-z0-9-]*) fail "refused run id" 64 ;; esac
case $revert in '' | *[!0-9]* | 0) fail "refused revert delay" 64 ;; esac
for tool in nft systemd-run ss; do
  command -v "$tool" >/dev/null 2>&1 || fail "$tool is missing on this host: isolation needs nft, systemd-run and ss" 69
done

# Addresses reach nft's and ss's own grammars, never a shell: letters of an address only.
check_address() {
  case $1 in '' | *[!0-9a-fA-F:./]*) fail "refused address: $1" 64 ;; esac
}
family() { case $1 in *:*) echo ip6 ;; *) echo ip ;; esac; }

# This script's SSH session as SSH_CONNECTION spells it ("client port server port"), read from the
# socket of the nearest sshd ancestor: sudo drops SSH_CONNECTION from the environment.
sshd_session() {
  pid=$$
  while [ "$pid" -gt 1 ] 2>/dev/null; do
    if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = sshd ]; then
      ss -Htnp state established 2>/dev/null | awk -v owner="pid=$pid," '
        function port(e) { sub(/.*:/, "", e); return e }
        function host(e) { e = substr(e, 1, length(e) - length(port(e)) - 1); gsub(/^\[|\]$/, "", e); return e }
        index($0, owner) { print host($4), port($4), host($3), port($3); exit }'
      return 0
    fi
    pid=$(awk '/^PPid:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
  done
}

# The management address as this host sees it (NAT and bastions change it).
session=${SSH_CONNECTION:-} source=ssh_connection
if [ -z "$session" ]; then session=$(sshd_session) source=sshd_socket; fi
[ -n "$session" ] || source=none
read -r client _ _ ssh_port <<SESSION
$session
SESSION
client=${client%%\%*}
case $client in ::ffff:*.*) client=${client#::ffff:} ;; esac
case ${ssh_port:=22} in *[!0-9]*) fail "refused sshd port: $ssh_port" 64 ;; esac
if [ -n "$client" ]; then
  check_address "$client"
  set -- "mgmt=$client" "$@"
fi
emit management "$session"
emit management_source "$source"
emit ssh_port "$ssh_port"

# An allow-list entry: sets proto, address and port.
read_allow() {
  IFS=, read -r proto address port <<ALLOW
${1#allow=}
ALLOW
}

managed=0
for item in "$@"; do
  case $item in
    mgmt=*) check_address "${item#mgmt=}"; managed=1 ;;
    allow=*)
      read_allow "$item"
      check_address "$address"
      case $proto in tcp | udp) ;; *) fail "refused protocol: $proto" 64 ;; esac
      case $port in *[!0-9]*) fail "refused port: $port" 64 ;; esac ;;
    *) fail "refused isolation argument: $item" 64 ;;
  esac
done
[ "$managed" = 1 ] || fail "no management address: this is not an SSH session and isolation.management is empty, so isolating would lock soar out; add the address soar connects from to isolation.management" 64

# Accept rules for one chain (arguments checked above): management SSH both ways, the allow-list out and its replies in.
accept_rules() {
  chain=$1 written=' '
  shift
  for item in "$@"; do
    # The session's address is often in isolation.management too: one rule each.
    case $written in *" $item "*) continue ;; esac
    written="$written$item "
    case $item in
      mgmt=*)
        address=${item#mgmt=}
        if [ "$chain" = input ]; then
          echo "    $(family "$address") saddr $address tcp dport $ssh_port accept"
        else
          echo "    $(family "$address") daddr $address tcp sport $ssh_port accept"
        fi ;;
      allow=*)
        read_allow "$item"
        if [ "$chain" = input ]; then
          echo "    $(family "$address") saddr $address $proto ${port:+sport $port }ct state established accept"
        else
          echo "    $(family "$address") daddr $address $proto ${port:+dport $port }accept"
        fi ;;
    esac
  done
}

mkdir -p /run/soar && chmod 700 /run/soar
rules=/run/soar/isolation-$run.nft
# "table; delete table; table {…}" in one file: nft -f replaces any earlier isolation in one transaction.
{
  echo "table inet soar_isolation"
  echo "delete table inet soar_isolation"
  echo "table inet soar_isolation {"
  echo "  chain input {"
  echo "    type filter hook input priority -200; policy drop;"
  echo "    iif lo accept"
  echo "    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-advert } ip6 hoplimit 255 accept"
  accept_rules input "$@"
  echo "  }"
  echo "  chain output {"
  echo "    type filter hook output priority -200; policy drop;"
  echo "    oif lo accept"
  echo "    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit } ip6 hoplimit 255 accept"
  # Resets end the connections cut below at the far end too; no new connection can make one.
  echo "    tcp flags & rst == rst accept"
  accept_rules output "$@"
  echo "  }"
  echo "  chain forward {"
  echo "    type filter hook forward priority -200; policy drop;"
  echo "  }"
  echo "}"
} >"$rules" || fail "cannot write $rules" 1
emit ruleset "$(cat "$rules")"
checked=$(nft -c -f "$rules" 2>&1) || fail "nft refused the ruleset: $checked" 1

previous=$(nft list table inet soar_isolation 2>/dev/null)

# Armed before anything changes, under a name of its own: an earlier timer keeps guarding until this one is armed.
timer=soar-revert-${run}_$$
systemd-run --quiet --collect --unit="$timer" --on-active="$revert" --timer-property=AccuracySec=1s \
  nft delete table inet soar_isolation || fail "cannot arm the revert timer: nothing was changed" 1
emit revert_timer "$timer.timer"
emit revert_after "$revert"
if ! applied=$(nft -f "$rules" 2>&1); then
  systemctl stop "$timer.timer" >/dev/null 2>&1
  fail "nft failed to apply the ruleset: $applied" 1
fi
nft list table inet soar_isolation >/run/soar/isolation.listing
emit applied 1
[ "$previous" = "$(cat /run/soar/isolation.listing)" ] && emit unchanged 1

# The table now in place is guarded by this run's timer alone: an older timer would remove it.
for other in $(systemctl list-units --plain --no-legend --all 'soar-revert-*.timer' | awk '{ print $1 }'); do
  [ "$other" = "$timer.timer" ] || { systemctl stop "$other" >/dev/null 2>&1 && emit superseded "$other"; }
done

# ss reads a bare IPv6 address as address:port; with a prefix length it reads it whole.
ss_prefix() { case $1 in */*) echo "$1" ;; *:*) echo "$1/128" ;; *) echo "$1" ;; esac; }

# Dropped packets leave open connections waiting to resume: cut every one isolation does not allow.
keep="dst 127.0.0.0/8 or dst ::1/128"
for item in "$@"; do
  case $item in
    mgmt=*) keep="$keep or ( sport = :$ssh_port and dst $(ss_prefix "${item#mgmt=}") )" ;;
    allow=*)
      read_allow "$item"
      [ "$proto" = tcp ] && keep="$keep or ( dst $(ss_prefix "$address")${port:+ and dport = :$port} )" ;;
  esac
done
ss -K -Htnp state established "not ( $keep )" 2>/dev/null | while IFS= read -r line; do emit cut "$line"; done
# A kernel without SOCK_DESTROY cuts nothing: what is left stays frozen by the table, not cut.
ss -Htnp state established "not ( $keep )" 2>/dev/null | while IFS= read -r line; do emit uncut "$line"; done
emit done 1
