# remove-unit-verify UNIT: read-only; does systemd still load the unit?
unit=$1
check_unit "$unit"
emit load_state "$(unit_prop "$unit" LoadState)"
emit done 1
