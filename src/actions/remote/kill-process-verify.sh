# kill-process-verify UNIT: read-only; is the unit stopped and not enabled, and is every process
# of its cgroup or running one of its own programs gone?
unit=$1
check_unit "$unit"
nl='
'
IFS=$nl
set -f
set -- $(foreign_binaries "$unit")
set +f
unset IFS
emit active "$(unit_prop "$unit" ActiveState)"
emit enabled "$(unit_prop "$unit" UnitFileState)"
for pid in $(unit_pids "$unit" "$@"); do emit left "$pid"; done
emit done 1
