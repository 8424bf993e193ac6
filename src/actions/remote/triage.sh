# triage UNIT PATH_HINT WRITER_PID: read-only facts about a unit, its files and its processes.
# systemd says where the unit really is; the alert's path is only a hint, and its PID is the
# installer's (evidence, never a target).
unit=$1 hint=$2 writer=$3
check_unit "$unit"
[ -z "$hint" ] || check_path "$hint"
case $writer in '' | *[!0-9]*) writer= ;; esac

emit unit "$unit"
unit_state "$unit"
unit_programs "$unit"
emit systemd.LoadState "$s_LoadState"
emit systemd.ActiveState "$s_ActiveState"
emit systemd.SubState "$s_SubState"
emit systemd.UnitFileState "$s_UnitFileState"
emit systemd.FragmentPath "$s_FragmentPath"
emit systemd.DropInPaths "$s_DropInPaths"
emit systemd.MainPID "$s_MainPID"
emit systemd.ControlGroup "$s_ControlGroup"
emit systemd.ExecStart "$exec_start"
emit systemd.NRestarts "$s_NRestarts"

fragment=$s_FragmentPath
# Every file below is asked about in one package lookup (the programs' too, resolved, in foreign_programs).
queue_copy() { package_queue "$1"; }
package_queue "$fragment" "$hint"
# shellcheck disable=SC2086 # split and globbed as systemd's list always was
package_queue $s_DropInPaths
each_wants_entry "$unit" queue_copy
each_unit_copy "$unit" queue_copy
while IFS= read -r binary; do package_queue "$binary"; done <<LINES
$binaries
LINES
foreign_programs

[ -z "$fragment" ] || file_facts fragment "$fragment"
[ -z "$hint" ] || [ "$hint" = "$fragment" ] || file_facts hint "$hint"
for dropin in $s_DropInPaths; do file_facts dropin "$dropin"; done
each_wants_entry "$unit" file_facts wants
# Copies systemd does not load (the /tmp staging file, a lower-precedence duplicate), each once.
other_copy() { [ "$1" -ef "$fragment" ] || [ "$1" = "$hint" ] || file_facts copy "$1"; }
each_unit_copy "$unit" other_copy

# Each program: its facts, the miner strings it carries, and the xmrig-style configs beside it.
if [ -n "$binaries" ]; then
  while IFS= read -r binary; do
    file_facts binary "$binary"
    [ -f "$binary" ] || continue
    miner_signatures "$binary"
    emit binary.miner_strings "$signatures"
    dir_of "$binary"
    for config in "$dir"/config*.json; do
      [ -f "$config" ] || continue
      emit config.path "$config"
      grep -a -o -E '"url" *: *"[^"]{1,255}"' -- "$config" 2>/dev/null | while IFS= read -r url; do emit config.pool "$url"; done
    done
  done <<LINES
${binaries%"$nl"}
LINES
fi

foreign_pids "$s_MainPID" "$s_ControlGroup"
for pid in $pids; do process_facts "$pid"; done
if [ -n "$writer" ] && [ -d "/proc/$writer" ]; then
  emit writer.alive 1
  emit writer.exe "$(readlink "/proc/$writer/exe" 2>/dev/null)"
  emit writer.cmdline "$(tr '\0' ' ' <"/proc/$writer/cmdline" 2>/dev/null)"
fi
connections
emit done 1
