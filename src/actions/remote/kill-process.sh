# kill-process UNIT SIGNAL MASK: stop a unit for good and kill every process it left.
# Evidence first; then disable/stop (or mask) so Restart=always cannot respawn; then kill the
# cgroup and every process running the unit's binary; then check that none is left.
unit=$1 signal=$2 mask=$3
check_unit "$unit"
case $signal in KILL | TERM) ;; *) fail "refused signal" 64 ;; esac

binary=$(exec_binary "$unit")
emit binary "$binary"
before=$(unit_pids "$unit" "$binary")
for pid in $before; do process_facts "$pid"; done
connections

if [ "$mask" = mask ]; then
  systemctl mask --now -- "$unit" >/dev/null 2>&1 && emit masked 1
else
  systemctl disable --now -- "$unit" >/dev/null 2>&1 && emit disabled 1
fi
systemctl stop -- "$unit" >/dev/null 2>&1
systemctl kill --signal="$signal" --kill-whom=all -- "$unit" >/dev/null 2>&1

for round in 1 2 3 4 5; do
  left=$(unit_pids "$unit" "$binary")
  [ -n "$left" ] || break
  for pid in $left; do kill "-$signal" "$pid" 2>/dev/null && emit killed "$pid"; done
  sleep 1
done
emit active "$(unit_prop "$unit" ActiveState)"
left=$(unit_pids "$unit" "$binary")
for pid in $left; do emit left "$pid"; done
[ -z "$left" ] || fail "processes still running: $(echo $left)" 1
emit done 1
