# kill-process-verify UNIT: read-only; are the unit and every process running its binary gone?
unit=$1
check_unit "$unit"
binary=$(exec_binary "$unit")
emit active "$(unit_prop "$unit" ActiveState)"
for pid in $(unit_pids "$unit" "$binary"); do emit left "$pid"; done
emit done 1
