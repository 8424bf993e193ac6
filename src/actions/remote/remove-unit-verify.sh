# remove-unit-verify UNIT PATH_HINT: read-only; systemd no longer loads the unit, and no file of it
# (unit copy, wants link, the alert's path) is left where it was.
unit=$1 hint=$2
check_unit "$unit"
[ -z "$hint" ] || check_path "$hint"
emit load_state "$(unit_prop "$unit" LoadState)"
if [ -n "$hint" ] && { [ -e "$hint" ] || [ -L "$hint" ]; }; then emit left "$hint"; fi
left_unless_hint() { [ "$1" = "$hint" ] || emit left "$1"; }
each_unit_copy "$unit" left_unless_hint
each_wants_entry "$unit" left_unless_hint
emit done 1
