# scan SINCE_EPOCH UNIT_NAMES MINER_NAMES: look for what else the attacker left. Read-only: it
# writes nothing on the host. UNIT_NAMES and MINER_NAMES are comma-separated lists; soar's YARA
# rules, when given, arrive on stdin.
since=$1 unit_names=$2 miner_names=$3
case $since in '' | *[!0-9]*) fail "refused time" 64 ;; esac
case $unit_names$miner_names in *[!A-Za-z0-9:_.@,-]*) fail "refused name list" 64 ;; esac

# A finding is three records; file names cannot hold NUL, so none can forge another.
finding() { emit finding "$1"; emit path "$2"; emit detail "$3"; }

# What each kind of file is searched for (extended regular expressions, comment lines aside).
EXEC_PATTERN='^[[:space:]]*Exec[A-Za-z]*=.*(/tmp/|/var/tmp/|/dev/shm/|/home/|/root/)'
CRON_PATTERN='curl|wget|base64|\| *(ba)?sh|/tmp/|/var/tmp/|/dev/shm/|/root/|/home/|miner|xmrig|@reboot'
LOGIN_PATTERN='miner\.sh|xmrig|c3pool|moneroocean|(curl|wget) .*\| *(ba)?sh|/dev/shm/|nohup .*/(var/)?tmp/'
HUGEPAGES_PATTERN='^[[:space:]]*vm\.nr_hugepages[[:space:]]*='

# Lines of FILE matching the extended regex, each a finding of KIND (the first 50).
grep_findings() {
  kind=$1 pattern=$2 file=$3
  grep -v '^[[:space:]]*#' -- "$file" 2>/dev/null | grep -E -- "$pattern" | head -n 50 |
    while IFS= read -r line; do finding "$kind" "$file" "$line"; done
}

# Units the rule names, wherever systemd would load them from or the installers stage them, and
# links that enable them: first every path, asked about in one package lookup, then the findings.
queue_rule_unit() { package_queue "$1"; }
rule_unit() { package_owner "$1"; finding rule_unit "$1" "$owner"; }
for pass in queue_rule_unit rule_unit; do
  IFS=,
  for unit in $unit_names; do
    unset IFS
    [ -n "$unit" ] || continue
    each_unit_copy "$unit" "$pass"
    each_wants_entry "$unit" "$pass"
  done
  unset IFS
  package_fetch
done

# Every file whose lines are searched, in the order of the findings, each with its kind in kinds
# (one letter each): E units and drop-ins (system units, and user units: a foothold that needs no
# root) that run anything from a temporary or home directory,
# C cron lines that download, decode or run something from a writable or home directory, L login
# scripts, K authorized_keys changed since the alert, H hugepages for a miner.
set --
kinds=
for dir in $UNIT_DIRS /etc/systemd/user; do
  for file in "$dir"/*.service "$dir"/*.service.d/*.conf; do
    if [ -f "$file" ]; then set -- "$@" "$file"; kinds=${kinds}E; fi
  done
done
for file in /etc/crontab /etc/anacrontab /etc/cron.d/* /etc/cron.hourly/* /etc/cron.daily/* /etc/cron.weekly/* \
  /etc/cron.monthly/* /var/spool/cron/crontabs/* /var/spool/cron/*; do
  if [ -f "$file" ]; then set -- "$@" "$file"; kinds=${kinds}C; fi
done
# Every user's login scripts and SSH keys (homes from /etc/passwd: www-data's too), and the system-wide ones.
for file in /etc/profile /etc/profile.d/* /etc/bash.bashrc /etc/rc.local; do
  if [ -f "$file" ]; then set -- "$@" "$file"; kinds=${kinds}L; fi
done
for home in $(cut -d: -f6 /etc/passwd | sort -u); do
  [ -d "$home" ] || continue
  home=${home%/}
  for rc in .profile .bashrc .bash_profile .bash_login .zshrc; do
    if [ -f "$home/$rc" ]; then set -- "$@" "$home/$rc"; kinds=${kinds}L; fi
  done
  for file in "$home"/.config/systemd/user/*.service "$home"/.config/systemd/user/*.service.d/*.conf; do
    if [ -f "$file" ]; then set -- "$@" "$file"; kinds=${kinds}E; fi
  done
  for keys in "$home/.ssh/authorized_keys" "$home/.ssh/authorized_keys2"; do
    if [ -f "$keys" ]; then set -- "$@" "$keys"; kinds=${kinds}K; fi
  done
done
for file in /etc/sysctl.conf /etc/sysctl.d/*.conf /run/sysctl.d/*.conf /usr/lib/sysctl.d/*.conf; do
  if [ -f "$file" ]; then set -- "$@" "$file"; kinds=${kinds}H; fi
done

# Each real path is read once: distributions link one file under several names (99-sysctl.conf).
# One readlink for all, trusted only when it resolved every name into exactly one line each (a
# name holding a newline adds lines); otherwise one readlink a file.
reals=
if [ $# -gt 0 ] && reals=$(readlink -f -- "$@" 2>/dev/null); then
  lines=1 rest=$reals
  while :; do case $rest in *"$nl"*) rest=${rest#*"$nl"} lines=$((lines + 1)) ;; *) break ;; esac; done
  [ "$lines" = $# ] || reals=
else
  reals=
fi
read_paths=' '
all=$kinds kinds= count=$#
for file; do
  kind=${all%"${all#?}"} all=${all#?}
  if [ -n "$reals" ]; then
    real=${reals%%"$nl"*} reals=${reals#*"$nl"}
  else
    real=$(readlink -f -- "$file") || continue
  fi
  case $read_paths in *" $real "*) continue ;; esac
  read_paths="$read_paths$real "
  set -- "$@" "$file"
  kinds=$kinds$kind
done
shift "$count"

# One awk reads every file but the keys: for each, "INDEX LINE" for its first 50 matching lines
# that are not comments, or "INDEX!" alone when it holds a NUL byte, where grep would see a binary
# file: such a file is searched by grep_findings, as is every file when awk fails.
matches=
if [ $# -gt 0 ] && ! matches=$(awk -v kinds="$kinds" '
  function flush(  i) {
    if (current == 0) return
    if (binary) print current "!"
    else for (i = 1; i <= n; i++) print current " " found[i]
    current = 0
  }
  BEGIN { nul = sprintf("%c", 0) }
  FNR == 1 {
    flush()
    while (ARGV[++number] != FILENAME && number < ARGC) {}
    current = number; kind = substr(kinds, current, 1); n = 0; binary = 0
  }
  kind == "K" || binary { next }
  index($0, nul) { binary = 1; next }
  /^[[:space:]]*#/ || n >= 50 { next }
  kind == "E" && /^[[:space:]]*Exec[A-Za-z]*=.*(\/tmp\/|\/var\/tmp\/|\/dev\/shm\/|\/home\/|\/root\/)/ { found[++n] = $0; next }
  kind == "C" && /curl|wget|base64|\| *(ba)?sh|\/tmp\/|\/var\/tmp\/|\/dev\/shm\/|\/root\/|\/home\/|miner|xmrig|@reboot/ { found[++n] = $0; next }
  kind == "L" && /miner\.sh|xmrig|c3pool|moneroocean|(curl|wget) .*\| *(ba)?sh|\/dev\/shm\/|nohup .*\/(var\/)?tmp\// { found[++n] = $0; next }
  kind == "H" && /^[[:space:]]*vm\.nr_hugepages[[:space:]]*=/ { found[++n] = $0; next }
  END { flush() }
' "$@" 2>/dev/null </dev/null); then
  matches=all
fi

# The findings, in order; awk's lines come in the order of the files.
index=0
preload=
for file; do
  index=$((index + 1))
  kind=${kinds%"${kinds#?}"} kinds=${kinds#?}
  if [ "$kind" = H ] && [ -z "$preload" ]; then
    preload=1
    if [ -s /etc/ld.so.preload ]; then finding ld_preload /etc/ld.so.preload "$(head -c 4096 /etc/ld.so.preload)"; fi
  fi
  case $kind in
    E) name=exec_in_writable_dir pattern=$EXEC_PATTERN ;;
    C) name=cron pattern=$CRON_PATTERN ;;
    L) name=login_script pattern=$LOGIN_PATTERN ;;
    H) name=hugepages pattern=$HUGEPAGES_PATTERN ;;
    K)
      times=$(stat -c '%Y %Z' -- "$file")
      mtime=${times%% *} ctime=${times#* }
      if [ "$mtime" -ge "$since" ]; then
        finding authorized_keys_changed "$file" "modified at $mtime, $(grep -c . -- "$file") key line(s)"
      elif [ "$ctime" -ge "$since" ]; then
        # mtime can be set back (touch -d); the inode's change time cannot.
        finding authorized_keys_touched "$file" "modified at $mtime, but its inode changed at $ctime (chmod, chown or a backdated mtime)"
      fi
      continue ;;
  esac
  if [ "$matches" = all ]; then
    grep_findings "$name" "$pattern" "$file"
    continue
  fi
  while :; do
    line=${matches%%"$nl"*}
    case $line in
      "$index!") grep_findings "$name" "$pattern" "$file" ;;
      "$index "*) finding "$name" "$file" "${line#"$index "}" ;;
      *) break ;;
    esac
    case $matches in *"$nl"*) matches=${matches#*"$nl"} ;; *) matches= ;; esac
  done
done
if [ -z "$preload" ] && [ -s /etc/ld.so.preload ]; then finding ld_preload /etc/ld.so.preload "$(head -c 4096 /etc/ld.so.preload)"; fi

# Processes with a miner's name (by comm or by binary), or running a temporary or deleted binary.
# One find picks the processes whose executable could be either (an exact test follows for each);
# a name list with an empty name matches processes with no executable at all: then every process is read.
case ",$miner_names," in
  *,,*) candidates=all ;;
  *)
    set -- -lname '/tmp/*' -o -lname '/var/tmp/*' -o -lname '/dev/shm/*' -o -lname '* (deleted)'
    IFS=,
    for name in $miner_names; do set -- "$@" -o -lname "*/$name*"; done
    unset IFS
    candidates=' '
    for dir in $(find /proc/[0-9]*/exe -maxdepth 0 \( "$@" \) -printf '%h\n' 2>/dev/null); do
      candidates="$candidates${dir#/proc/} "
    done ;;
esac
for dir in /proc/[0-9]*; do
  pid=${dir#/proc/}
  # comm as $(cat) reads it: every line, trailing newlines dropped.
  comm= line=
  { while IFS= read -r line; do comm=$comm$line$nl; done; } 2>/dev/null <"$dir/comm" || continue
  comm=$comm$line
  while :; do case $comm in *"$nl") comm=${comm%"$nl"} ;; *) break ;; esac; done
  case ",$miner_names," in
    *",$comm,"*) ;;
    *) case $candidates in all | *" $pid "*) ;; *) continue ;; esac ;;
  esac
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
