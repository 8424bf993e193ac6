# remove-unit UNIT QUARANTINE_DIR PATH_HINT: move a unit and what it ran into quarantine.
# Nothing is deleted: every file goes into a root-only directory, below its original path, with a
# sha256 manifest; files there lose their execute bits; immutable and append-only flags are
# cleared (and recorded) so that mv can work. Package-owned files are never moved (the package
# manager owns them): they are reported as kept.
unit=$1 quarantine=$2 hint=$3
check_unit "$unit"
check_path "$quarantine"
[ -z "$hint" ] || check_path "$hint"

unit_state "$unit"
state=$s_ActiveState
case $state in
  active | activating | deactivating | reloading) fail "$unit is $state: run kill-process first, so that nothing runs from the files being moved" 1 ;;
esac
[ ! -L "$quarantine" ] || fail "quarantine $quarantine is a symbolic link: remove it, evidence never goes through a link" 1
mkdir -p -- "$quarantine/files" && chmod 700 -- "$quarantine" || fail "cannot create quarantine $quarantine" 1
manifest=$quarantine/MANIFEST.sha256
emit quarantine "$quarantine"

# unlock PATH: clear the flags that make mv fail, recording what was set.
unlock() {
  local attrs
  attrs_of "$1"
  case $attrs in
    *[ia]*)
      chattr -i -a -- "$1" 2>/dev/null || fail "cannot clear attributes $attrs of $1" 1
      emit unlocked "$1"
      emit unlocked.attrs "$attrs"
      ;;
  esac
}

# quarantine_one KIND PATH: move one file or link into quarantine, then hash it there.
quarantine_one() {
  local kind=$1 path=$2 owner dest n line dir
  if [ ! -f "$path" ] && [ ! -L "$path" ]; then
    if [ -e "$path" ]; then emit skipped "$path"; fi
    return 0
  fi
  case $path in "$quarantine"/*) return 0 ;; esac
  package_owner "$path"
  if [ -n "$owner" ]; then
    emit kept "$path"
    emit kept.kind "$kind"
    emit kept.package "$owner"
    return 0
  fi
  dest=$quarantine/files$path n=0
  while [ -e "$dest" ] || [ -L "$dest" ]; do n=$((n + 1)) dest=$quarantine/files$path.$n; done
  dir_of "$dest"
  [ -d "$dir" ] || mkdir -p -- "$dir" || fail "cannot create $dir" 1
  # Flags are looked at only when the move is refused: the immutable or append-only file or
  # directory is unlocked (recorded), and the move tried again.
  if ! mv -- "$path" "$dest" 2>/dev/null; then
    unlock "$path"
    dir_of "$path"
    unlock "$dir"
    mv -- "$path" "$dest" || fail "cannot move $path into quarantine" 1
  fi
  emit moved "$kind"
  emit moved.from "$path"
  emit moved.to "$dest"
  if [ -L "$dest" ]; then
    emit moved.link "$(readlink -- "$dest")"
    return 0
  fi
  [ ! -x "$dest" ] || chmod a-x -- "$dest"
  # sha256sum's own line (it escapes odd names), relative, so that `sha256sum -c` works in the quarantine.
  line=$(cd -- "$quarantine" && sha256sum -- "${dest#"$quarantine"/}") || fail "cannot hash $dest" 1
  printf '%s\n' "$line" >>"$manifest"
  line=${line#\\}
  emit moved.sha256 "${line%% *}"
}

# sweep DIR: quarantine everything below DIR, depth first, then remove the emptied directories.
sweep() {
  local entry
  for entry in "$1"/* "$1"/.[!.]* "$1"/..?*; do
    if [ -d "$entry" ] && [ ! -L "$entry" ]; then sweep "$entry"; else quarantine_one installer "$entry"; fi
  done
  if rmdir -- "$1" 2>/dev/null || { unlock "$1" && rmdir -- "$1" 2>/dev/null; }; then emit removed_dir "$1"; fi
}

# A masked unit hides its programs from systemd: lift the mask (recorded) so that they are found.
# The unit is stopped, and its files are about to leave.
if [ "$s_LoadState" = masked ]; then
  said=$(systemctl unmask -- "$unit" 2>&1) || fail "cannot unmask $unit: $said" 1
  emit unmasked "$said"
  unit_state "$unit"
fi

# The programs first and the unit file last: a run cut short leaves the unit loaded, so the next
# run still learns from systemd which programs it ran.
fragment=$s_FragmentPath
dropins=$s_DropInPaths
unit_programs "$unit"
# Every file below is asked about in one package lookup (in foreign_programs): the unit's files and
# programs, and what the installer's directory holds (the directory of each program, as resolved
# below unless a link leads elsewhere: a path not asked about yet is asked when it comes).
queue_tree() {
  local entry
  for entry in "$1"/* "$1"/.[!.]* "$1"/..?*; do
    if [ -d "$entry" ] && [ ! -L "$entry" ]; then queue_tree "$entry"; else package_queue "$entry"; fi
  done
}
queue_copy() { package_queue "$1"; }
package_queue "$hint" "$fragment"
# shellcheck disable=SC2086 # split and globbed as systemd's list always was
package_queue $dropins
each_unit_copy "$unit" queue_copy
each_wants_entry "$unit" queue_copy
if [ -n "$binaries" ]; then
  while IFS= read -r binary; do
    dir_of "$binary"
    case $dir in
      */.ssh | */.ssh/*) ;;
      /root/?* | /home/?*/?* | /tmp/?* | /var/tmp/?* | /dev/shm/?*) [ ! -d "$dir" ] || queue_tree "$dir" ;;
    esac
  done <<LINES
${binaries%"$nl"}
LINES
fi
foreign_programs
# Read on descriptor 3: what the loop runs keeps the script's own standard input.
[ -z "$foreign" ] || while IFS= read -r binary <&3; do
  quarantine_one binary "$binary"
  # The installer's directory (config.json, miner.sh …) when it sits in a home or temp directory;
  # never an .ssh directory, whose keys are how soar reaches the host.
  dir_of "$binary"
  install_dir=$dir
  case $install_dir in
    */.ssh | */.ssh/*) ;;
    /root/?* | /home/?*/?* | /tmp/?* | /var/tmp/?* | /dev/shm/?*) [ ! -d "$install_dir" ] || sweep "$install_dir" ;;
  esac
done 3<<LINES
${foreign%"$nl"}
LINES
# systemd still knows the unit (its file moves last): the programs it runs are as unit_programs read them.
if [ -n "$binaries" ]; then
  while IFS= read -r binary; do
    package_owner "$(readlink -f -- "$binary" || echo "$binary")"
    [ -z "$owner" ] || { emit kept "$binary"; emit kept.kind binary; emit kept.package "$owner"; }
  done <<LINES
${binaries%"$nl"}
LINES
fi

[ -z "$hint" ] || [ "$hint" = "$fragment" ] || quarantine_one hint "$hint"
other_copy() { [ "$1" -ef "$fragment" ] || quarantine_one copy "$1"; }
each_unit_copy "$unit" other_copy
for dropin in $dropins; do
  quarantine_one dropin "$dropin"
  dir_of "$dropin"
  if rmdir -- "$dir" 2>/dev/null; then emit removed_dir "$dir"; fi
done
each_wants_entry "$unit" quarantine_one wants
[ -z "$fragment" ] || quarantine_one unit "$fragment"

# systemd forgets a stopped unit that nothing refers to (kill leaves it so), and then finds no file
# for it: no reload is needed. One it still holds (a target wants it through a link systemd read
# before it moved) needs a daemon-reload to let go, and gets one.
systemctl reset-failed -- "$unit" >/dev/null 2>&1
load_state=$(unit_prop "$unit" LoadState)
if [ "$load_state" != not-found ]; then
  systemctl daemon-reload >/dev/null 2>&1 || fail "systemctl daemon-reload failed" 1
  emit reloaded "$load_state"
  systemctl reset-failed -- "$unit" >/dev/null 2>&1
  load_state=$(unit_prop "$unit" LoadState)
fi
emit load_state "$load_state"
emit done 1
