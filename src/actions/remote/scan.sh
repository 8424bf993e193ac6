# scan SINCE_EPOCH UNIT_NAMES MINER_NAMES: look for what else the attacker left. Read-only: it
# writes nothing on the host. UNIT_NAMES and MINER_NAMES are comma-separated lists; soar's YARA
# rules, when given, arrive on stdin.
since=$1 unit_names=$2 miner_names=$3
case $since in '' | *[!0-9]*) fail "refused time" 64 ;; esac
case $unit_names$miner_names in *[!A-Za-z0-9:_.@,-]*) fail "refused name list" 64 ;; esac

# A finding is three records; file names cannot hold NUL, so none can forge another.
finding() { emit finding "$1"; emit path "$2"; emit detail "$3"; }

# Lines of FILE matching the extended regex, each a finding of KIND.
grep_findings() {
  kind=$1 pattern=$2 file=$3
  grep -v '^[[:space:]]*#' -- "$file" 2>/dev/null | grep -E -- "$pattern" | head -n 50 |
    while IFS= read -r line; do finding "$kind" "$file" "$line"; done
}

# Real paths already read: distributions link one file under several names (99-sysctl.conf).
read_paths=' '
first_read() {
  real=$(readlink -f -- "$1") || return 1
  case $read_paths in *" $real "*) return 1 ;; esac
  read_paths="$read_paths$real "
}

# Units the rule names, wherever systemd would load them from or the installers stage them, and links that enable them.
rule_unit() { finding rule_unit "$1" "$(package_owner "$1")"; }
for unit in $(echo "$unit_names" | tr , ' '); do
  each_unit_copy "$unit" rule_unit
  each_wants_entry "$unit" rule_unit
done

# Units (and drop-ins) that run anything from a temporary or home directory.
for dir in $UNIT_DIRS; do
  for file in "$dir"/*.service "$dir"/*.service.d/*.conf; do
    [ -f "$file" ] && first_read "$file" || continue
    grep_findings exec_in_writable_dir '^[[:space:]]*Exec[A-Za-z]*=.*(/tmp/|/var/tmp/|/dev/shm/|/home/|/root/)' "$file"
  done
done

# Persistence through cron: lines that download, decode or run something from a writable or home directory.
for file in /etc/crontab /etc/anacrontab /etc/cron.d/* /etc/cron.hourly/* /etc/cron.daily/* /etc/cron.weekly/* \
  /etc/cron.monthly/* /var/spool/cron/crontabs/* /var/spool/cron/*; do
  [ -f "$file" ] && first_read "$file" || continue
  grep_findings cron 'curl|wget|base64|\| *(ba)?sh|/tmp/|/var/tmp/|/dev/shm/|/root/|/home/|miner|xmrig|@reboot' "$file"
done

# Every user's login scripts and SSH keys (homes from /etc/passwd: www-data's too), and the system-wide ones.
login='miner\.sh|xmrig|c3pool|moneroocean|(curl|wget) .*\| *(ba)?sh|/dev/shm/|nohup .*/(var/)?tmp/'
for file in /etc/profile /etc/profile.d/* /etc/bash.bashrc /etc/rc.local; do
  [ -f "$file" ] && first_read "$file" && grep_findings login_script "$login" "$file"
done
for home in $(cut -d: -f6 /etc/passwd | sort -u); do
  [ -d "$home" ] || continue
  home=${home%/}
  for rc in .profile .bashrc .bash_profile .bash_login .zshrc; do
    [ -f "$home/$rc" ] && first_read "$home/$rc" && grep_findings login_script "$login" "$home/$rc"
  done
  for keys in "$home/.ssh/authorized_keys" "$home/.ssh/authorized_keys2"; do
    [ -f "$keys" ] && first_read "$keys" || continue
    mtime=$(stat -c %Y -- "$keys") ctime=$(stat -c %Z -- "$keys")
    if [ "$mtime" -ge "$since" ]; then
      finding authorized_keys_changed "$keys" "modified at $mtime, $(grep -c . -- "$keys") key line(s)"
    elif [ "$ctime" -ge "$since" ]; then
      # mtime can be set back (touch -d); the inode's change time cannot.
      finding authorized_keys_touched "$keys" "modified at $mtime, but its inode changed at $ctime (chmod, chown or a backdated mtime)"
    fi
  done
done

if [ -s /etc/ld.so.preload ]; then finding ld_preload /etc/ld.so.preload "$(head -c 4096 /etc/ld.so.preload)"; fi
for file in /etc/sysctl.conf /etc/sysctl.d/*.conf /run/sysctl.d/*.conf /usr/lib/sysctl.d/*.conf; do
  [ -f "$file" ] && first_read "$file" && grep_findings hugepages '^[[:space:]]*vm\.nr_hugepages[[:space:]]*=' "$file"
done

# Processes with a miner's name (by comm or by binary), or running a temporary or deleted binary.
for dir in /proc/[0-9]*; do
  pid=${dir#/proc/}
  comm=$(cat "$dir/comm" 2>/dev/null) || continue
  exe=$(readlink "$dir/exe" 2>/dev/null)
  binary=${exe% (deleted)}
  binary=${binary##*/}
  case ",$miner_names," in
    *",$comm,"* | *",$binary,"*)
      finding miner_process "$exe" "pid $pid comm $comm: $(tr '\0' ' ' <"$dir/cmdline" 2>/dev/null | head -c 512 | sed 's/ *$//')"
      continue ;;
  esac
  case $exe in
    /tmp/* | /var/tmp/* | /dev/shm/* | *' (deleted)') finding suspicious_process "$exe" "pid $pid comm $comm" ;;
  esac
done

# Open connections, and connections still being attempted (an isolated miner keeps trying).
connections
ss -Htnp state syn-sent 2>/dev/null | while IFS= read -r line; do emit attempt "$line"; done

emit isolation "$(isolation_state)"

# soar's rules against the places installers write to; read from stdin, never written to the host.
if ! command -v yara >/dev/null 2>&1; then
  emit yara missing
elif ! rules=$(cat) || [ -z "$rules" ]; then
  emit yara skipped
else
  if matches=$(find /tmp /var/tmp /dev/shm /root /home /etc /opt /usr/local /var/spool/cron -xdev -type f -size -32M 2>/dev/null |
    yara --no-warnings --no-follow-symlinks --scan-list /dev/fd/3 /dev/stdin 2>&1 3<<RULES
$rules
RULES
  ); then
    emit yara ran
    printf '%s\n' "$matches" | while read -r rule path; do
      case $rule in soar_*) finding yara "$path" "$rule" ;; esac
    done
  else
    emit yara failed
    emit yara_error "$(printf '%s\n' "$matches" | tail -n 5)"
  fi
fi
emit done 1
