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
  parent=
  while IFS= read -r line; do
    case $line in PPid:*) parent=${line#PPid:} ;; esac
  done 2>/dev/null <"/proc/$pid/status"
  pid=${parent#"${parent%%[![:space:]]*}"}
done

unit_programs "$unit"
foreign_programs
if [ -n "$foreign" ]; then
  while IFS= read -r binary; do emit binary "$binary"; done <<LINES
${foreign%"$nl"}
LINES
fi

unit_state "$unit"
emit before.active "$s_ActiveState"
emit before.enabled "$s_UnitFileState"
foreign_pids "$s_MainPID" "$s_ControlGroup"
for pid in $pids; do process_facts "$pid"; done
connections

if [ "$s_LoadState" != not-found ]; then
  if [ "$mode" = mask ]; then
    # One reload of systemd's configuration for both (each would reload it on its own).
    if said=$(systemctl disable --no-reload -- "$unit" 2>&1); then emit disabled "$said"; else emit disable_failed "$said"; fi
    # systemctl refuses to mask a unit whose own file sits in /etc/systemd/system: say so, disabled is what holds.
    if said=$(systemctl mask --no-reload -- "$unit" 2>&1); then emit masked "$said"; else emit mask_failed "$said"; fi
    systemctl daemon-reload >/dev/null 2>&1
  else
    if said=$(systemctl disable -- "$unit" 2>&1); then emit disabled "$said"; else emit disable_failed "$said"; fi
  fi
  systemctl stop --no-block -- "$unit" >/dev/null 2>&1
  systemctl kill --signal="$signal" --kill-whom=all -- "$unit" >/dev/null 2>&1
fi

round=0
while :; do
  unit_state "$unit"
  left=
  foreign_pids "$s_MainPID" "$s_ControlGroup"
  for pid in $pids; do
    case $protected in *" $pid "*) emit spared "$pid" ;; *) left="$left $pid" ;; esac
  done
  state=$s_ActiveState
  case $state in active | activating | deactivating | reloading) busy=1 ;; *) busy= ;; esac
  [ -n "$left$busy" ] && [ "$round" -lt 25 ] || break
  for pid in $left; do
    if kill "-$signal" "$pid" 2>/dev/null; then emit killed "$pid"; fi
  done
  round=$((round + 1))
  # A killed process is gone within milliseconds: look again soon, then less often.
  if [ "$round" -le 3 ]; then sleep 0.05; else sleep 0.2; fi
done

emit after.active "$state"
emit after.enabled "$s_UnitFileState"
for pid in $left; do emit left "$pid"; done
[ -z "$left" ] || fail "processes still running after SIG$signal:$left" 1
[ -z "$busy" ] || fail "$unit is still $state" 1
emit done 1
