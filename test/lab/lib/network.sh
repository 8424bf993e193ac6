# The lab's network: one namespace per host, plus the pool and the outsider, each joined to the
# machine by a veth pair (a /30), routed through the machine and never beyond it.

# Lab traffic may reach the lab (198.18.0.0/15) and nothing else: no default route, and a guard on the machine.
LAB_RANGE=198.18.0.0/15

# Namespace NS with interface eth0 at ADDRESS/30, its peer VETH on the machine at GATEWAY/30.
add_namespace() {
  local netns=$1 veth=$2 gateway=$3 address=$4
  ip netns add "$netns"
  ip link add "$veth" type veth peer name eth0 netns "$netns"
  ip address add "$gateway/30" dev "$veth"
  ip link set "$veth" up
  ip -netns "$netns" link set lo up
  ip -netns "$netns" address add "$address/30" dev eth0
  ip -netns "$netns" link set eth0 up
  ip -netns "$netns" route add "$LAB_RANGE" via "$gateway"
}

network_up() {
  local hosts=$1 i
  sysctl -qw net.ipv4.ip_forward=1
  # Forwarded lab packets may only leave through lab interfaces: a container never reaches the real network.
  nft -f - <<EOF
table inet soar_lab${LAB_ID}_guard
delete table inet soar_lab${LAB_ID}_guard
table inet soar_lab${LAB_ID}_guard {
  chain forward {
    type filter hook forward priority -10; policy accept;
    iifname "soar*" oifname != "soar*" drop
    oifname "soar*" iifname != "soar*" drop
  }
}
EOF
  add_namespace "$(pool_netns)" "$(pool_veth)" "$(pool_gateway)" "$(pool_address)"
  add_namespace "$(outsider_netns)" "$(outsider_veth)" "$(outsider_gateway)" "$(outsider_address)"
  for ((i = 1; i <= hosts; i++)); do
    add_namespace "$(host_netns "$i")" "$(host_veth "$i")" "$(host_management_address "$i")" "$(host_address "$i")"
  done
}

# Every namespace, veth and guard of lab LAB_ID, found by name.
network_down() {
  local netns veth
  for netns in $(lab_namespaces); do
    ip netns delete "$netns" 2>/dev/null || true
  done
  for veth in $(lab_veths); do
    ip link delete "$veth" 2>/dev/null || true
  done
  nft delete table inet "soar_lab${LAB_ID}_guard" 2>/dev/null || true
}

lab_namespaces() {
  ip netns list 2>/dev/null | awk -v pattern="^soar$LAB_ID-(h[0-9]+|pool|out)\$" '$1 ~ pattern { print $1 }'
}

lab_veths() {
  ip -o link show 2>/dev/null | awk -F': ' -v pattern="^soar${LAB_ID}(h[0-9]+|pool|out)\$" '{ sub(/@.*/, "", $2); if ($2 ~ pattern) print $2 }'
}

# Processes living in a namespace of the lab (the containers' and the pool's).
namespace_pids() {
  ip netns pids "$1" 2>/dev/null || true
}
