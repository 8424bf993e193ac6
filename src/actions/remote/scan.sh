# scan SINCE_EPOCH UNIT_NAMES MINER_NAMES: look for what else the attacker left. Read-only.
# UNIT_NAMES and MINER_NAMES are comma-separated lists; YARA rules, when given, arrive on stdin.
since=$1 unit_names=$2 miner_names=$3
case $since in '' | *[!0-9]*) fail "refused time" 64 ;; esac
case $unit_names$miner_names in *[!A-Za-z0-9:_.@,-]*) fail "refused name list" 64 ;; esac

# A finding is three records; file names cannot hold NUL, so none can forge another.
finding() { emit finding "$1"; emit path "$2"; emit detail "$3"; }

# Units the rule names, wherever systemd would load them from.
IFS=,
for unit in $unit_names; do
  for dir in /etc/systemd/system /run/systemd/system /lib/systemd/system /usr/lib/systemd/system /tmp /var/tmp; do
    [ -e "$dir/$unit" ] || [ -L "$dir/$unit" ] || continue
    finding rule_unit "$dir/$unit" "$(package_owner "$dir/$unit")"
  done
done
unset IFS

# Units whose program lives where no packaged service's does.
for file in /etc/systemd/system/*.service /run/systemd/system/*.service /lib/systemd/system/*.service; do
  [ -f "$file" ] || continue
  grep -E '^[[:space:]]*Exec(Start|StartPre|StartPost)=[-@+!:]*(/tmp/|/var/tmp/|/dev/shm/|/home/|/root/)' -- "$file" 2>/dev/null |
    while IFS= read -r line; do finding exec_in_writable_dir "$file" "$line"; done
done

# Persistence through cron: every line that downloads or runs something from a writable place.
for file in /etc/crontab /etc/cron.d/* /var/spool/cron/crontabs/* /var/spool/cron/*; do
  [ -f "$file" ] || continue
  grep -v '^[[:space:]]*#' -- "$file" 2>/dev/null | grep -E 'curl|wget|/tmp/|/var/tmp/|/dev/shm/|miner|xmrig|base64|\| *(ba)?sh' |
    while IFS= read -r line; do finding cron "$file" "$line"; done
done

# Login scripts and SSH keys of every user with a home.
for home in /root /home/*; do
  [ -d "$home" ] || continue
  for rc in .profile .bashrc .bash_profile .zshrc; do
    [ -f "$home/$rc" ] || continue
    grep -E 'miner\.sh|xmrig|c3pool|moneroocean|curl .*\| *(ba)?sh|wget .*\| *(ba)?sh|/dev/shm/|nohup .*/tmp/' -- "$home/$rc" 2>/dev/null |
      while IFS= read -r line; do finding login_script "$home/$rc" "$line"; done
  done
  for keys in "$home/.ssh/authorized_keys" "$home/.ssh/authorized_keys2"; do
    [ -f "$keys" ] || continue
    mtime=$(stat -c %Y -- "$keys" 2>/dev/null)
    [ "${mtime:-0}" -ge "$since" ] && finding authorized_keys_changed "$keys" "modified at $mtime"
  done
done

if [ -s /etc/ld.so.preload ]; then finding ld_preload /etc/ld.so.preload "$(head -c 4096 /etc/ld.so.preload)"; fi
for file in /etc/sysctl.conf /etc/sysctl.d/*.conf; do
  [ -f "$file" ] || continue
  grep -E '^[[:space:]]*vm\.nr_hugepages' -- "$file" 2>/dev/null | while IFS= read -r line; do finding hugepages "$file" "$line"; done
done

# Processes with miner names, or running a deleted or world-writable-dir binary.
for dir in /proc/[0-9]*; do
  pid=${dir#/proc/}
  comm=$(cat "$dir/comm" 2>/dev/null) || continue
  exe=$(readlink "$dir/exe" 2>/dev/null)
  IFS=,
  for name in $miner_names; do
    [ "$comm" = "$name" ] && finding miner_process "$exe" "pid $pid comm $comm"
  done
  unset IFS
  case $exe in
    /tmp/* | /var/tmp/* | /dev/shm/* | *' (deleted)') finding suspicious_process "$exe" "pid $pid comm $comm" ;;
  esac
done

connections

if nft list table inet soar_isolation >/dev/null 2>&1; then emit isolation present; else emit isolation absent; fi

if command -v yara >/dev/null 2>&1; then
  rules=$(mktemp)
  cat >"$rules"
  if [ -s "$rules" ]; then
    for dir in /tmp /var/tmp /dev/shm /root /home /etc/systemd/system /usr/local/bin; do
      [ -d "$dir" ] && yara -r -N "$rules" "$dir" 2>/dev/null | while IFS=' ' read -r rule path; do finding yara "$path" "$rule"; done
    done
  fi
  rm -f -- "$rules"
  emit yara ran
else
  emit yara missing
fi
emit done 1
