# remove-unit UNIT QUARANTINE_DIR PATH_HINT: move a unit and what it ran into quarantine.
# Nothing is deleted: every file is moved into a root-only directory with a sha256 manifest;
# binaries lose their execute bits; immutable flags are cleared (and recorded) so mv can work.
unit=$1 quarantine=$2 hint=$3
check_unit "$unit"
check_path "$quarantine"
[ -z "$hint" ] || check_path "$hint"

binary=$(exec_binary "$unit")
fragment=$(unit_prop "$unit" FragmentPath)
mkdir -p -- "$quarantine" && chmod 700 -- "$quarantine" || fail "cannot create quarantine $quarantine" 1
manifest=$quarantine/MANIFEST.sha256

# quarantine_one KIND PATH: move one file or link into quarantine, keeping its full path below it.
quarantine_one() {
  kind=$1 path=$2
  [ -e "$path" ] || [ -L "$path" ] || return 0
  case $path in "$quarantine"/*) return 0 ;; esac
  attrs=$(lsattr -d -- "$path" 2>/dev/null | cut -d' ' -f1)
  case $attrs in
    *i* | *a*) chattr -i -a -- "$path" 2>/dev/null && emit unlocked "$path" ;;
  esac
  sum=
  [ -L "$path" ] || sum=$(sha256_of "$path")
  dest=$quarantine/files$path
  mkdir -p -- "$(dirname -- "$dest")" || fail "cannot create $(dirname -- "$dest")" 1
  if mv -f -- "$path" "$dest"; then
    [ -L "$dest" ] || chmod a-x -- "$dest"
    [ -z "$sum" ] || printf '%s  %s\n' "$sum" "files$path" >>"$manifest"
    emit "quarantined.$kind" "$path"
    [ -z "$sum" ] || emit "sha256.$path" "$sum"
  else
    fail "cannot move $path into quarantine" 1
  fi
}

[ -z "$fragment" ] || quarantine_one unit "$fragment"
for dropin in $(unit_prop "$unit" DropInPaths); do quarantine_one dropin "$dropin"; done
wants_entries "$unit" | while IFS= read -r entry; do quarantine_one wants "$entry"; done
for dir in /etc/systemd/system /run/systemd/system /tmp /var/tmp; do quarantine_one unit "$dir/$unit"; done
[ -z "$hint" ] || quarantine_one hint "$hint"
if [ -n "$binary" ]; then
  install_dir=$(dirname -- "$binary")
  quarantine_one binary "$binary"
  # The installer's directory (config.json, miner.sh …) only when it sits in a home or temp dir.
  case $install_dir in
    /root/?* | /home/?*/?* | /tmp/?* | /var/tmp/?* | /dev/shm/?*)
      find "$install_dir" -xdev \( -type f -o -type l \) 2>/dev/null | while IFS= read -r file; do quarantine_one installer "$file"; done
      ;;
  esac
fi

systemctl daemon-reload >/dev/null 2>&1
systemctl reset-failed -- "$unit" >/dev/null 2>&1
emit load_state "$(unit_prop "$unit" LoadState)"
emit quarantine "$quarantine"
emit done 1
