# triage UNIT PATH_HINT WRITER_PID: read-only facts about a unit, its files and its processes.
unit=$1 hint=$2 writer=$3
check_unit "$unit"
[ -z "$hint" ] || check_path "$hint"
case $writer in '' | *[!0-9]*) writer= ;; esac

emit unit "$unit"
for prop in LoadState ActiveState SubState UnitFileState FragmentPath DropInPaths MainPID ControlGroup ExecStart; do
  emit "systemd.$prop" "$(unit_prop "$unit" "$prop")"
done

binary=$(exec_binary "$unit")
fragment=$(unit_prop "$unit" FragmentPath)
[ -z "$fragment" ] || file_facts fragment "$fragment"
[ -z "$hint" ] || [ "$hint" = "$fragment" ] || file_facts hint "$hint"
for dropin in $(unit_prop "$unit" DropInPaths); do file_facts dropin "$dropin"; done
wants_entries "$unit" | while IFS= read -r entry; do file_facts wants "$entry"; done
if [ -n "$binary" ]; then
  file_facts binary "$binary"
  if [ -f "$binary" ]; then
    emit binary.miner_strings "$(grep -a -o -F -e stratum+tcp:// -e stratum+ssl:// -e donate.v2.xmrig.com -e randomx -e cryptonight -- "$binary" 2>/dev/null | sort -u | tr '\n' ' ')"
  fi
  for config in "$(dirname -- "$binary")"/config*.json; do
    [ -f "$config" ] || continue
    emit config.path "$config"
    grep -a -o -E '"url" *: *"[^"]{1,255}"' -- "$config" 2>/dev/null | while IFS= read -r url; do emit config.pool "$url"; done
  done
fi

for pid in $(unit_pids "$unit" "$binary"); do process_facts "$pid"; done
if [ -n "$writer" ] && [ -d "/proc/$writer" ]; then
  emit writer.alive 1
  emit writer.exe "$(readlink "/proc/$writer/exe" 2>/dev/null)"
  emit writer.cmdline "$(tr '\0' ' ' <"/proc/$writer/cmdline" 2>/dev/null)"
fi
connections
emit done 1
