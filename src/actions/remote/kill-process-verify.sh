# kill-process-verify UNIT: read-only; is the unit stopped and not enabled, and is every process
# of its cgroup or running one of its own programs gone?
unit=$1
check_unit "$unit"
unit_programs "$unit"
foreign_programs
unit_state "$unit"
emit active "$s_ActiveState"
emit enabled "$s_UnitFileState"
foreign_pids "$s_MainPID" "$s_ControlGroup"
for pid in $pids; do emit left "$pid"; done
emit done 1
