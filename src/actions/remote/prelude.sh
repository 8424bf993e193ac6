# soar remote prelude: shared by every action script. Alert-derived values arrive only as "$@".
# Output is a list of NUL-terminated `key=value` records, so any byte a file name can hold
# (newlines included) survives the trip. Functions that call back or recurse use `local`
# (dash, bash and busybox sh have it; Debian policy allows it in /bin/sh scripts).
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

# Where systemd loads units from (once: with usrmerge /lib/systemd/system is /usr/lib/systemd/system),
# and where the installers write a unit before moving it into place.
UNIT_DIRS="/etc/systemd/system /run/systemd/system /usr/local/lib/systemd/system /lib/systemd/system"
[ /lib/systemd/system -ef /usr/lib/systemd/system ] || UNIT_DIRS="$UNIT_DIRS /usr/lib/systemd/system"
STAGING_DIRS="/tmp /var/tmp /dev/shm"

# Hashes stdin, so that sha256sum never escapes an odd file name into its output. Regular files only.
sha256_of() { sha256sum 2>/dev/null <"$1" | cut -d' ' -f1; }
unit_prop() { systemctl show -p "$2" --value -- "$1" 2>/dev/null; }
# A file's attribute flags as lsattr prints them (i: immutable, a: append-only); nothing for a link.
# Only the first line: a file name holding a newline would add a line of its own.
attrs_of() { lsattr -d -- "$1" 2>/dev/null | head -n 1 | cut -d' ' -f1; }

# The programs a unit runs: the `path=` of ExecStart, ExecStartPre and ExecStartPost, then every
# executable file their arguments name (a wrapper's `sh -c "/root/x/xmrig …"`), once each.
exec_binaries() {
  local commands
  commands=$(for prop in ExecStart ExecStartPre ExecStartPost; do unit_prop "$1" "$prop"; done)
  {
    printf '%s\n' "$commands" | sed -n 's/^{ path=\([^ ;]*\) ;.*/\1/p'
    printf '%s\n' "$commands" | sed -n 's/^.* argv\[\]=\(.*\) ; ignore_errors=.*/\1/p' |
      tr -s " \t\"'\`;&|()<>=" '[\n*]' | grep '^/' | while IFS= read -r word; do
        if [ -f "$word" ] && [ -x "$word" ]; then echo "$word"; fi
      done
  } | awk '!seen[$0]++'
}

# The package owning a path and the path as its database spells it (dpkg still names /bin/sleep
# after usrmerge moved it to /usr/bin): prints "PACKAGE PATH", or nothing. Literal paths only.
package_entry() {
  case $1 in *[*?[\\]*) return 0 ;; esac
  case $1 in /usr/*) set -- "$1" "${1#/usr}" ;; *) set -- "$1" "/usr$1" ;; esac
  for candidate in "$@"; do
    if command -v dpkg-query >/dev/null 2>&1; then
      owner=$(dpkg-query -S -- "$candidate" 2>/dev/null | grep -v '^diversion' | head -n 1 | cut -d: -f1 | cut -d, -f1)
    elif command -v rpm >/dev/null 2>&1; then
      owner=$(rpm -qf --qf '%{NAME}\n' -- "$candidate" 2>/dev/null) || owner=
    else
      return 0
    fi
    if [ -n "$owner" ]; then printf '%s %s\n' "$owner" "$candidate"; return 0; fi
  done
}
package_owner() { package_entry "$1" | cut -d' ' -f1; }

# package_modified PACKAGE PATH: the package's checksum of PATH no longer matches the file.
package_modified() {
  if command -v dpkg >/dev/null 2>&1; then dpkg --verify -- "$1"; else rpm -V -- "$1"; fi 2>/dev/null |
    grep '^..5' | cut -c13- | grep -Fxq -- "$2"
}

# The unit's programs that no package owns, symlinks resolved as the kernel shows them in
# /proc/PID/exe. Only these are hunted outside the unit's cgroup and quarantined: an ExecStart
# of /bin/sh must never make every shell on the host a target.
foreign_binaries() {
  exec_binaries "$1" | while IFS= read -r binary; do
    resolved=$(readlink -f -- "$binary") || resolved=$binary
    [ -n "$(package_owner "$resolved")" ] || echo "$resolved"
  done
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

# Processes whose executable is one of the given files (also after it was deleted).
binary_pids() {
  [ $# -gt 0 ] || return 0
  local dir exe binary
  for dir in /proc/[0-9]*; do
    exe=$(readlink "$dir/exe" 2>/dev/null) || continue
    exe=${exe%" (deleted)"}
    for binary in "$@"; do
      if [ "$exe" = "$binary" ]; then echo "${dir#/proc/}"; fi
    done
  done
}

# unit_pids UNIT BINARY...: the unit's MainPID, its cgroup, and anything running one of BINARY.
# cgroup.procs lists a process of another PID namespace as 0 (containers sharing a cgroup tree do
# that): only PIDs of 2 and up leave here, since `kill 0` would signal the caller's own group.
unit_pids() {
  local unit=$1
  shift
  {
    unit_prop "$unit" MainPID
    cgroup_pids "$(unit_prop "$unit" ControlGroup)"
    binary_pids "$@"
  } | grep -x '[1-9][0-9]*' | grep -vx 1 | sort -un
}

# Evidence about one process, as records under proc.<pid>.
process_facts() {
  local pid=$1 exe
  [ -d "/proc/$pid" ] || return 0
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null)
  emit proc "$pid"
  emit "proc.$pid.exe" "$exe"
  emit "proc.$pid.cwd" "$(readlink "/proc/$pid/cwd" 2>/dev/null)"
  emit "proc.$pid.cmdline" "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)"
  emit "proc.$pid.stat" "$(ps -o ppid=,user:32=,pcpu=,etimes=,comm= -p "$pid" 2>/dev/null)"
  [ -z "$exe" ] || emit "proc.$pid.sha256" "$(sha256_of "/proc/$pid/exe")"
}

# Established TCP connections with their owning processes (ss from iproute2).
connections() {
  ss -Htnp state established 2>/dev/null | while IFS= read -r line; do emit conn "$line"; done
}

# Facts about a file under a label: link target, hash, attributes, owner package, modified-from-package.
file_facts() {
  local label=$1 path=$2 entry
  emit "$label.path" "$path"
  if [ -L "$path" ]; then emit "$label.link" "$(readlink -- "$path")"; fi
  if [ ! -e "$path" ] && [ ! -L "$path" ]; then
    emit "$label.missing" 1
    return 0
  fi
  if [ -f "$path" ]; then emit "$label.sha256" "$(sha256_of "$path")"; fi
  emit "$label.mtime" "$(stat -c %Y -- "$path" 2>/dev/null)"
  emit "$label.attrs" "$(attrs_of "$path")"
  entry=$(package_entry "$path")
  [ -n "$entry" ] || return 0
  emit "$label.package" "${entry%% *}"
  if package_modified "${entry%% *}" "${entry#* }"; then emit "$label.package_modified" 1; fi
}

# each_wants_entry UNIT COMMAND...: runs COMMAND... ENTRY for every link (or stray file) naming
# the unit in a .wants or .requires directory.
each_wants_entry() {
  local unit=$1 dir entry
  shift
  for dir in $UNIT_DIRS; do
    for entry in "$dir"/*.wants/"$unit" "$dir"/*.requires/"$unit"; do
      if [ -e "$entry" ] || [ -L "$entry" ]; then "$@" "$entry"; fi
    done
  done
}

# each_unit_copy UNIT COMMAND...: runs COMMAND... PATH for every file or link named like the unit
# in systemd's unit directories (a mask link too) and in the installers' staging directories.
each_unit_copy() {
  local unit=$1 dir
  shift
  for dir in $UNIT_DIRS $STAGING_DIRS; do
    if [ -e "$dir/$unit" ] || [ -L "$dir/$unit" ]; then "$@" "$dir/$unit"; fi
  done
}

# soar's isolation table: present (as isolate applied it), altered (changed since), or absent.
isolation_state() {
  if ! current=$(nft list table inet soar_isolation 2>/dev/null); then echo absent
  elif [ "$current" = "$(cat /run/soar/isolation.listing 2>/dev/null)" ]; then echo present
  else echo altered; fi
}
