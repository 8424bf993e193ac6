# kill-process UNIT SIGNAL MODE: stop a unit for good and kill every process it left.
# Evidence first; then disable (MODE=mask: also mask) so that nothing starts it again; then queue
# a stop, so that Restart=always does not respawn what the kill ends; then kill the unit's cgroup
# and every process running one of its own (non-packaged) programs; then check none is left.
# Only the unit's processes are ever signalled: the alert's writer PID is not even an argument.
unit=$1 signal=$2 mode=$3
check_unit "$unit"
case $signal in KILL | TERM) ;; *) fail "refused signal" 64 ;; esac
case $mode in disable | mask) ;; *) fail "refused mode" 64 ;; esac

# This shell and its ancestors (the SSH session that runs it): never signalled, whatever they run.
protected=" 1 "
pid=$$
while [ "${pid:-0}" -gt 1 ] 2>/dev/null; do
  protected="$protected$pid "
  pid=$(ps -o ppid= -p "$pid" 2>/dev/null | tr -d ' ')
done

nl='
'
IFS=$nl
set -f
set -- $(foreign_binaries "$unit")
set +f
unset IFS
for binary in "$@"; do emit binary "$binary"; done

emit before.active "$(unit_prop "$unit" ActiveState)"
emit before.enabled "$(unit_prop "$unit" UnitFileState)"
before=$(unit_pids "$unit" "$@")
for pid in $before; do process_facts "$pid"; done
connections

if [ "$(unit_prop "$unit" LoadState)" != not-found ]; then
  if said=$(systemctl disable -- "$unit" 2>&1); then emit disabled "$said"; else emit disable_failed "$said"; fi
  if [ "$mode" = mask ]; then
    # systemctl refuses to mask a unit whose own file sits in /etc/systemd/system: say so, disabled is what holds.
    if said=$(systemctl mask -- "$unit" 2>&1); then emit masked "$said"; else emit mask_failed "$said"; fi
  fi
  systemctl stop --no-block -- "$unit" >/dev/null 2>&1
  systemctl kill --signal="$signal" --kill-whom=all -- "$unit" >/dev/null 2>&1
fi

round=0
while :; do
  left=
  for pid in $(unit_pids "$unit" "$@"); do
    case $protected in *" $pid "*) emit spared "$pid" ;; *) left="$left $pid" ;; esac
  done
  state=$(unit_prop "$unit" ActiveState)
  case $state in active | activating | deactivating | reloading) busy=1 ;; *) busy= ;; esac
  [ -n "$left$busy" ] && [ "$round" -lt 25 ] || break
  for pid in $left; do
    if kill "-$signal" "$pid" 2>/dev/null; then emit killed "$pid"; fi
  done
  round=$((round + 1))
  sleep 0.2
done

emit after.active "$state"
emit after.enabled "$(unit_prop "$unit" UnitFileState)"
for pid in $left; do emit left "$pid"; done
[ -z "$left" ] || fail "processes still running after SIG$signal:$left" 1
[ -z "$busy" ] || fail "$unit is still $state" 1
emit done 1
