# triage UNIT PATH_HINT WRITER_PID: read-only facts about a unit, its files and its processes.
# systemd says where the unit really is; the alert's path is only a hint, and its PID is the
# installer's (evidence, never a target).
unit=$1 hint=$2 writer=$3
check_unit "$unit"
[ -z "$hint" ] || check_path "$hint"
case $writer in '' | *[!0-9]*) writer= ;; esac

emit unit "$unit"
for prop in LoadState ActiveState SubState UnitFileState FragmentPath DropInPaths MainPID ControlGroup ExecStart NRestarts; do
  emit "systemd.$prop" "$(unit_prop "$unit" "$prop")"
done

fragment=$(unit_prop "$unit" FragmentPath)
[ -z "$fragment" ] || file_facts fragment "$fragment"
[ -z "$hint" ] || [ "$hint" = "$fragment" ] || file_facts hint "$hint"
for dropin in $(unit_prop "$unit" DropInPaths); do file_facts dropin "$dropin"; done
each_wants_entry "$unit" file_facts wants
# Copies systemd does not load (the /tmp staging file, a lower-precedence duplicate), each once.
other_copy() { [ "$1" -ef "$fragment" ] || [ "$1" = "$hint" ] || file_facts copy "$1"; }
each_unit_copy "$unit" other_copy

# Each program: its facts, the miner strings it carries, and the xmrig-style configs beside it.
exec_binaries "$unit" | while IFS= read -r binary; do
  file_facts binary "$binary"
  [ -f "$binary" ] || continue
  emit binary.miner_strings "$(grep -a -o -F -e stratum+tcp:// -e stratum+ssl:// -e donate.v2.xmrig.com -e randomx -e cryptonight -- "$binary" 2>/dev/null | sort -u | tr '\n' ' ')"
  for config in "$(dirname -- "$binary")"/config*.json; do
    [ -f "$config" ] || continue
    emit config.path "$config"
    grep -a -o -E '"url" *: *"[^"]{1,255}"' -- "$config" 2>/dev/null | while IFS= read -r url; do emit config.pool "$url"; done
  done
done

nl='
'
IFS=$nl
set -f
for pid in $(unit_pids "$unit" $(foreign_binaries "$unit")); do process_facts "$pid"; done
set +f
unset IFS
if [ -n "$writer" ] && [ -d "/proc/$writer" ]; then
  emit writer.alive 1
  emit writer.exe "$(readlink "/proc/$writer/exe" 2>/dev/null)"
  emit writer.cmdline "$(tr '\0' ' ' <"/proc/$writer/cmdline" 2>/dev/null)"
fi
connections
emit done 1
