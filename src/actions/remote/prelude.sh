# soar remote prelude: shared by every action script. Alert-derived values arrive only as "$@".
# Output is a list of NUL-terminated `key=value` records, so any byte a file name can hold
# (newlines included) survives the trip.
set -u
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
LC_ALL=C
export PATH LC_ALL
umask 077

emit() { printf '%s=%s\0' "$1" "$2"; }
fail() { emit error "$1"; exit "${2:-1}"; }

# Refuse anything that is not a plain unit name again, on the host, before it is used.
check_unit() {
  case $1 in
    '' | -* | .* | */* | *[!A-Za-z0-9:_.@-]*) fail "refused unit name" 64 ;;
  esac
}
check_path() {
  case $1 in
    /*) ;;
    *) fail "refused path: not absolute" 64 ;;
  esac
  case $1 in
    *[!A-Za-z0-9._+@:,=/-]* | */../* | */.. | */./* | *//*) fail "refused path" 64 ;;
  esac
}

sha256_of() { sha256sum -- "$1" 2>/dev/null | cut -d' ' -f1; }
unit_prop() { systemctl show -p "$2" --value -- "$1" 2>/dev/null; }

# The program a unit runs: `path=` inside systemd's ExecStart property.
exec_binary() {
  unit_prop "$1" ExecStart | sed -n 's/^{ path=\([^ ;]*\) ;.*/\1/p' | head -n 1
}

# Every PID in a cgroup, whichever hierarchy holds it (cgroup v2, v1 hybrid, v1 named).
cgroup_pids() {
  [ -n "$1" ] || return 0
  for root in /sys/fs/cgroup /sys/fs/cgroup/unified /sys/fs/cgroup/systemd; do
    if [ -r "$root$1/cgroup.procs" ]; then
      cat -- "$root$1/cgroup.procs"
      find "$root$1" -mindepth 2 -name cgroup.procs -exec cat {} + 2>/dev/null
      return 0
    fi
  done
}

# Processes whose executable is the given file (also after it was deleted or replaced).
binary_pids() {
  [ -n "$1" ] || return 0
  for dir in /proc/[0-9]*; do
    exe=$(readlink "$dir/exe" 2>/dev/null) || continue
    if [ "$exe" = "$1" ] || [ "$exe" = "$1 (deleted)" ]; then echo "${dir#/proc/}"; fi
  done
}

# The unit's processes: its MainPID, its cgroup, anything running its binary.
unit_pids() {
  main=$(unit_prop "$1" MainPID)
  {
    [ "${main:-0}" -gt 0 ] 2>/dev/null && echo "$main"
    cgroup_pids "$(unit_prop "$1" ControlGroup)"
    binary_pids "$2"
  } | sort -un
}

# Evidence about one process, as records under proc.<pid>.
process_facts() {
  pid=$1
  [ -d "/proc/$pid" ] || return 0
  emit proc "$pid"
  emit "proc.$pid.exe" "$(readlink "/proc/$pid/exe" 2>/dev/null)"
  emit "proc.$pid.cwd" "$(readlink "/proc/$pid/cwd" 2>/dev/null)"
  emit "proc.$pid.cmdline" "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)"
  emit "proc.$pid.stat" "$(ps -o ppid=,user=,pcpu=,etimes=,comm= -p "$pid" 2>/dev/null)"
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null) && emit "proc.$pid.sha256" "$(sha256_of "/proc/$pid/exe")"
}

# Established TCP connections with their owning processes (ss from iproute2).
connections() {
  ss -Htnp state established 2>/dev/null | while IFS= read -r line; do emit conn "$line"; done
}

# The Debian or RPM package that owns a path, if any (literal match only: no glob characters).
package_owner() {
  case $1 in *[*?[\\]*) return 0 ;; esac
  if command -v dpkg-query >/dev/null 2>&1; then
    for candidate in "$1" "/usr$1" "${1#/usr}"; do
      owner=$(dpkg-query -S -- "$candidate" 2>/dev/null | grep -v '^diversion' | head -n 1 | cut -d: -f1)
      if [ -n "$owner" ]; then echo "$owner"; return 0; fi
    done
  fi
  if command -v rpm >/dev/null 2>&1; then rpm -qf --qf '%{NAME}\n' -- "$1" 2>/dev/null | grep -v 'not owned' | head -n 1; fi
}

# Facts about a file under a label: link target, hash, owner package, modified-from-package, attributes.
file_facts() {
  label=$1 path=$2
  emit "$label.path" "$path"
  if [ -L "$path" ]; then emit "$label.link" "$(readlink -- "$path")"; fi
  if [ ! -e "$path" ] && [ ! -L "$path" ]; then emit "$label.missing" 1; return 0; fi
  [ -f "$path" ] && emit "$label.sha256" "$(sha256_of "$path")"
  emit "$label.mtime" "$(stat -c %Y -- "$path" 2>/dev/null)"
  emit "$label.attrs" "$(lsattr -d -- "$path" 2>/dev/null | cut -d' ' -f1)"
  owner=$(package_owner "$path")
  if [ -n "$owner" ]; then
    emit "$label.package" "$owner"
    if dpkg --verify -- "$owner" 2>/dev/null | grep -q "^..5.* $path\$"; then emit "$label.package_modified" 1; fi
  fi
}

# Where a unit is installed into a target: links (or stray files) in every *.wants/*.requires dir.
wants_entries() {
  for dir in /etc/systemd/system /run/systemd/system /lib/systemd/system /usr/lib/systemd/system; do
    for entry in "$dir"/*.wants/"$1" "$dir"/*.requires/"$1"; do
      if [ -e "$entry" ] || [ -L "$entry" ]; then echo "$entry"; fi
    done
  done
}

# soar's isolation table: present (as isolate applied it), altered (changed since), or absent.
isolation_state() {
  if ! current=$(nft list table inet soar_isolation 2>/dev/null); then echo absent
  elif [ "$current" = "$(cat /run/soar/isolation.listing 2>/dev/null)" ]; then echo present
  else echo altered; fi
}
