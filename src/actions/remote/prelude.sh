# soar remote prelude: shared by every action script. Alert-derived values arrive only as "$@".
# Output is a list of NUL-terminated `key=value` records, so any byte a file name can hold
# (newlines included) survives the trip. Functions that call back or recurse use `local`
# (dash, bash and busybox sh have it; Debian policy allows it in /bin/sh scripts).
# Almost all of a script's cost on the host is starting programs: loops use the shell's own
# expansions and `read`, and systemctl, dpkg-query and find are asked once for many things.
set -u
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
LC_ALL=C
export PATH LC_ALL
umask 077
nl='
'

emit() { printf '%s=%s\0' "$1" "$2"; }
fail() { emit error "$1"; exit "${2:-1}"; }

# One soar command at a time on a host, whichever soar process or store sent it: a command still
# running for a process that stalled past its lease ends before the next one starts. The lock is
# held by this shell's descriptor 9 (and the programs it starts, which `timeout` ends with it), so
# a killed command never leaves it held. Only root can create it in /run. flock(1) comes with
# util-linux (and busybox); a host without it runs each command unguarded, as before.
if command -v flock >/dev/null 2>&1; then
  { command exec 9>>/run/soar.lock; } 2>/dev/null || fail "cannot open /run/soar.lock: soar's commands run as root (log in as root, or give the user sudo)" 1
  if ! flock -n 9; then
    # The first record: the trail then says why this command took longer than its work.
    emit host_busy 1
    flock -w 30 9 || fail "another soar command has held this host (/run/soar.lock) for 30 s, so this one did nothing" 75
  fi
fi

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
# Where the system and its admins keep programs.
PROGRAM_DIRS="/bin /sbin /lib /lib32 /lib64 /usr/bin /usr/sbin /usr/lib /usr/lib32 /usr/lib64 /usr/libexec /usr/local /opt"
in_program_dirs() {
  local dir
  for dir in $PROGRAM_DIRS; do
    case $1 in "$dir"/*) return 0 ;; esac
  done
  return 1
}

# hash_of FILE: sets hash to its sha256, read from stdin so that sha256sum never escapes an odd file
# name into its output; empty when it cannot be read. Regular files only.
hash_of() { hash=$(sha256sum 2>/dev/null <"$1"); hash=${hash%% *}; }
unit_prop() { systemctl show -p "$2" --value -- "$1" 2>/dev/null; }
# attrs_of PATH: sets attrs to the file's attribute flags as lsattr prints them (i: immutable,
# a: append-only); nothing for a link. Only the first line's first field: a file name holding a
# newline would add a line of its own.
attrs_of() { attrs=$(lsattr -d -- "$1" 2>/dev/null); attrs=${attrs%%"$nl"*}; attrs=${attrs%% *}; }
# miner_signatures FILE: sets signatures to the miner strings the file carries (pool URL schemes,
# xmrig's donation host, its algorithms), sorted, once each, each followed by a space.
miner_signatures() {
  signatures=$(grep -a -o -F -e stratum+tcp:// -e stratum+ssl:// -e donate.v2.xmrig.com -e randomx -e cryptonight -- "$1" 2>/dev/null | sort -u | tr '\n' ' ')
}
# dir_of PATH: sets dir as dirname(1) would print it.
dir_of() {
  dir=$1
  case $dir in *[!/]*) ;; *) dir=/; [ -n "$1" ] || dir=.; return 0 ;; esac
  while :; do case $dir in */) dir=${dir%/} ;; *) break ;; esac; done
  case $dir in */*) ;; *) dir=.; return 0 ;; esac
  dir=${dir%/*}
  while :; do case $dir in */) dir=${dir%/} ;; *) break ;; esac; done
  [ -n "$dir" ] || dir=/
}

# unit_state UNIT: the unit's state from one systemctl call, as s_LoadState s_ActiveState s_SubState
# s_UnitFileState s_FragmentPath s_DropInPaths s_MainPID s_ControlGroup s_NRestarts. KEY=VALUE lines
# are taken only when each property came exactly once and nothing else did: a value holding a
# newline (a path can) adds a line, and then each property is asked for alone, with --value.
unit_state() {
  local out line key seen=' ' n=0
  s_LoadState='' s_ActiveState='' s_SubState='' s_UnitFileState='' s_FragmentPath='' s_DropInPaths='' s_MainPID='' s_ControlGroup='' s_NRestarts=''
  out=$(systemctl show -p LoadState,ActiveState,SubState,UnitFileState,FragmentPath,DropInPaths,MainPID,ControlGroup,NRestarts -- "$1" 2>/dev/null)
  while IFS= read -r line; do
    key=${line%%=*}
    case $line in *=*) ;; *) n=99; break ;; esac
    case $seen in *" $key "*) n=99; break ;; esac
    seen="$seen$key "
    case $key in
      LoadState) s_LoadState=${line#*=} ;;
      ActiveState) s_ActiveState=${line#*=} ;;
      SubState) s_SubState=${line#*=} ;;
      UnitFileState) s_UnitFileState=${line#*=} ;;
      FragmentPath) s_FragmentPath=${line#*=} ;;
      DropInPaths) s_DropInPaths=${line#*=} ;;
      MainPID) s_MainPID=${line#*=} ;;
      ControlGroup) s_ControlGroup=${line#*=} ;;
      NRestarts) s_NRestarts=${line#*=} ;;
      *) n=99; break ;;
    esac
    n=$((n + 1))
  done <<LINES
$out
LINES
  [ "$n" != 9 ] || return 0
  s_LoadState=$(unit_prop "$1" LoadState)
  s_ActiveState=$(unit_prop "$1" ActiveState)
  s_SubState=$(unit_prop "$1" SubState)
  s_UnitFileState=$(unit_prop "$1" UnitFileState)
  s_FragmentPath=$(unit_prop "$1" FragmentPath)
  s_DropInPaths=$(unit_prop "$1" DropInPaths)
  s_MainPID=$(unit_prop "$1" MainPID)
  s_ControlGroup=$(unit_prop "$1" ControlGroup)
  s_NRestarts=$(unit_prop "$1" NRestarts)
}

# unit_programs UNIT: sets exec_start (ExecStart as `systemctl show --value` prints it) and binaries:
# the programs the unit runs, each followed by a newline: the `path=` of ExecStart, ExecStartPre and
# ExecStartPost, then every executable file their arguments name (a wrapper's
# `sh -c "/root/x/xmrig …"`), once each. Arguments can hold newlines, so the values are read with
# --value, as lines, the way they always were: ExecStart alone, then ExecStartPre and ExecStartPost.
unit_programs() {
  local more line rest word paths='' words=''
  exec_start=$(unit_prop "$1" ExecStart)
  more=$(systemctl show -p ExecStartPre,ExecStartPost --value -- "$1" 2>/dev/null)
  binaries=
  while IFS= read -r line; do
    case $line in
      "{ path="*)
        rest=${line#"{ path="}
        word=${rest%%[ ;]*}
        case ${rest#"$word"} in " ;"*) paths=$paths$word$nl ;; esac ;;
    esac
    # sed 's/^.* argv\[\]=\(.*\) ; ignore_errors=.*/\1/': the last argv[]= before the last ignore_errors=.
    case $line in *" ; ignore_errors="*) ;; *) continue ;; esac
    rest=${line%" ; ignore_errors="*}
    case $rest in *" argv[]="*) ;; *) continue ;; esac
    rest=${rest##*" argv[]="}
    set -f
    IFS=" 	\"'\`;&|()<>="
    for word in $rest; do
      case $word in /*) words=$words$word$nl ;; esac
    done
    unset IFS
    set +f
  done <<LINES
$exec_start
$more
LINES
  if [ -n "$paths" ]; then
    while IFS= read -r word; do
      case $nl$binaries in *"$nl$word$nl"*) ;; *) binaries=$binaries$word$nl ;; esac
    done <<LINES
${paths%"$nl"}
LINES
  fi
  while IFS= read -r word; do
    [ -n "$word" ] && [ -f "$word" ] && [ -x "$word" ] || continue
    case $nl$binaries in *"$nl$word$nl"*) ;; *) binaries=$binaries$word$nl ;; esac
  done <<LINES
$words
LINES
}

# foreign_programs: sets foreign from binaries (unit_programs first): the unit's programs that no
# package owns, symlinks resolved as the kernel shows them in /proc/PID/exe, each followed by a
# newline. Only these are hunted outside the unit's cgroup and quarantined: an ExecStart of /bin/sh
# must never make every shell on the host a target. A program whose resolved path holds a newline
# (a link to "/tmp/x<newline>/opt/app/server") would read as other paths, a bystander's among
# them: it is recorded as unnamable and never hunted or moved by path (its processes are the
# unit's, and die with its cgroup). A program in the directories where the system and its admins
# keep programs (/usr/local and /opt too) that carries no miner signature is left alone the same
# way: the node or python3 built by hand into /usr/local/bin that a unit runs a miner's script
# with, whose other users a hunt would kill. It is recorded as unowned, or as unverified on a host
# with no package database (no dpkg, no rpm), where the system's own programs look the same.
foreign_programs() {
  local binary resolved
  foreign=
  [ -n "$binaries" ] || return 0
  set --
  while IFS= read -r binary; do
    resolved=$(readlink -f -- "$binary") || resolved=$binary
    set -- "$@" "$resolved"
    package_queue "$resolved"
  done <<LINES
${binaries%"$nl"}
LINES
  package_fetch
  for resolved; do
    case $resolved in *"$nl"*) emit unnamable "$resolved"; continue ;; esac
    package_entry "$resolved"
    [ -z "$entry" ] || continue
    if in_program_dirs "$resolved"; then
      miner_signatures "$resolved"
      if [ -z "$signatures" ]; then
        if [ "$PKG_TOOL" = none ]; then emit unverified "$resolved"; else emit unowned "$resolved"; fi
        continue
      fi
    fi
    foreign=$foreign$resolved$nl
  done
}

# The package that owns a path, from one dpkg-query for every path asked about so far. dpkg-query -S
# prints "PACKAGE[, PACKAGE…]: PATH" for each literal path it knows (diversions on lines of their
# own); a path holding a newline or a glob character is never asked (no package can ship one).
PKG_QUEUE='' PKG_ASKED=$nl PKG_FOUND='' PKG_TOOL=''
package_tool() {
  if [ -z "$PKG_TOOL" ]; then
    if command -v dpkg-query >/dev/null 2>&1; then PKG_TOOL=dpkg
    elif command -v rpm >/dev/null 2>&1; then PKG_TOOL=rpm
    else PKG_TOOL=none; fi
  fi
}
# The spellings a package database may use for a path (dpkg still names /bin/sleep after usrmerge
# moved it to /usr/bin): sets candidates to the path and its /usr twin, or nothing for a pattern.
package_candidates() {
  candidates=
  case $1 in *[*?[\\]*) return 0 ;; esac
  case $1 in /usr/*) candidates="$1$nl${1#/usr}" ;; *) candidates="$1$nl/usr$1" ;; esac
}
# package_queue PATH...: remember paths to ask about in the next package_fetch.
package_queue() {
  local path candidate
  for path; do
    case $path in '' | *"$nl"*) continue ;; esac
    package_candidates "$path"
    [ -n "$candidates" ] || continue
    for candidate in "${candidates%%"$nl"*}" "${candidates#*"$nl"}"; do
      case $PKG_ASKED$PKG_QUEUE in *"$nl$candidate$nl"*) continue ;; esac
      PKG_QUEUE=$PKG_QUEUE$candidate$nl
    done
  done
}
package_fetch() {
  local candidate
  [ -n "$PKG_QUEUE" ] || return 0
  package_tool
  if [ "$PKG_TOOL" = dpkg ]; then
    set --
    IFS=$nl
    set -f
    for candidate in ${PKG_QUEUE%"$nl"}; do
      set -- "$@" "$candidate"
      if [ $# -ge 200 ]; then package_search "$@"; set --; fi
    done
    set +f
    unset IFS
    [ $# -eq 0 ] || package_search "$@"
  fi
  PKG_ASKED=$PKG_ASKED$PKG_QUEUE
  PKG_QUEUE=''
}
# package_search CANDIDATE...: dpkg-query -S for them all. It exits 1 when some path is no
# package's; on anything worse each is asked alone, and what it printed is taken as it always was.
package_search() {
  local found status candidate
  found=$(dpkg-query -S -- "$@" 2>/dev/null) && status=0 || status=$?
  if [ "$status" -gt 1 ] && [ $# -gt 1 ]; then
    for candidate; do package_search "$candidate"; done
    return 0
  fi
  [ -z "$found" ] || PKG_FOUND=$PKG_FOUND$found$nl
}
# package_entry PATH: sets entry to "PACKAGE PATH" (the path as the database spells it), or nothing.
# Literal paths only. The first package named, as `cut -d: -f1 | cut -d, -f1` would give it.
package_entry() {
  local candidate line owner
  entry=
  package_candidates "$1"
  [ -n "$candidates" ] || return 0
  package_tool
  case $PKG_TOOL in
    none) return 0 ;;
    rpm)
      for candidate in "${candidates%%"$nl"*}" "${candidates#*"$nl"}"; do
        owner=$(rpm -qf --qf '%{NAME}\n' -- "$candidate" 2>/dev/null) || owner=
        if [ -n "$owner" ]; then entry="$owner $candidate"; return 0; fi
      done
      return 0 ;;
  esac
  case $1 in '' | *"$nl"*) return 0 ;; esac
  package_queue "$1"
  package_fetch
  for candidate in "${candidates%%"$nl"*}" "${candidates#*"$nl"}"; do
    while IFS= read -r line; do
      case $line in diversion*) continue ;; esac
      [ "${line#*": "}" = "$candidate" ] || continue
      owner=${line%%:*}
      owner=${owner%%,*}
      if [ -n "$owner" ]; then entry="$owner $candidate"; return 0; fi
    done <<LINES
$PKG_FOUND
LINES
  done
}
package_owner() { package_entry "$1"; owner=${entry%% *}; }

# package_modified PACKAGE PATH: the package's checksum of PATH no longer matches the file. Both
# tools print the flags, a file-type column and the path ("??5??????   /usr/bin/x" from dpkg,
# "S.5......    /usr/bin/x" from rpm: one space more), so the path is what follows the first /.
package_modified() {
  package_tool
  case $PKG_TOOL in
    dpkg) dpkg --verify -- "$1" ;;
    rpm) rpm -V -- "$1" ;;
    *) ;;
  esac 2>/dev/null | grep '^..5' | sed 's|^[^/]*||' | grep -Fxq -- "$2"
}

# cgroup_pids CGROUP: appends every PID in a cgroup and the cgroups below it, one a line, to found,
# whichever hierarchy holds it (cgroup v2, v1 hybrid, v1 named).
cgroup_pids() {
  local root
  [ -n "$1" ] || return 0
  for root in /sys/fs/cgroup /sys/fs/cgroup/unified /sys/fs/cgroup/systemd; do
    if [ -r "$root$1/cgroup.procs" ]; then
      cgroup_tree_pids "$root$1" 1
      return 0
    fi
  done
}
cgroup_tree_pids() {
  local dir=$1 sub pid
  if [ "$2" = 1 ] || [ -f "$dir/cgroup.procs" ]; then
    while IFS= read -r pid; do found=$found$pid$nl; done 2>/dev/null <"$dir/cgroup.procs"
  fi
  for sub in "$dir"/* "$dir"/.[!.]* "$dir"/..?*; do
    if [ -d "$sub" ] && [ ! -L "$sub" ]; then cgroup_tree_pids "$sub" 0; fi
  done
}

# binary_pids BINARY...: appends to found the processes whose executable is one of the given files
# (also after it was deleted), one a line. One find reads every /proc/PID/exe link: -lname with a
# pattern free of glob characters is an exact comparison of the link's text.
binary_pids() {
  local binary dir exe n=$#
  [ $# -gt 0 ] || return 0
  case "$*" in
    *[*?[\\]*)
      for dir in /proc/[0-9]*; do
        exe=$(readlink "$dir/exe" 2>/dev/null) || continue
        exe=${exe%" (deleted)"}
        for binary; do
          if [ "$exe" = "$binary" ]; then found=$found${dir#/proc/}$nl; fi
        done
      done
      return 0 ;;
  esac
  for binary; do set -- "$@" -o -lname "$binary" -o -lname "$binary (deleted)"; done
  shift "$((n + 1))"
  for dir in $(find /proc/[0-9]*/exe -maxdepth 0 \( "$@" \) -printf '%h\n' 2>/dev/null); do
    found=$found${dir#/proc/}$nl
  done
}

# unit_pids MAINPID CGROUP BINARY...: sets pids to the unit's MainPID, its cgroup, and anything
# running one of BINARY, sorted, once each, separated by spaces.
# cgroup.procs lists a process of another PID namespace as 0 (containers sharing a cgroup tree do
# that): only PIDs of 2 and up are kept, since `kill 0` would signal the caller's own group.
unit_pids() {
  local main=$1 group=$2 pid keep=
  shift 2
  found=$main$nl
  cgroup_pids "$group"
  binary_pids "$@"
  while IFS= read -r pid; do
    case $pid in 1 | '' | [!1-9]* | *[!0-9]*) continue ;; esac
    keep=$keep$pid$nl
  done <<LINES
$found
LINES
  found=
  case $keep in
    '') pids= ;;
    *"$nl"?*) pids=$(printf '%s' "$keep" | sort -un) ;;
    *) pids=$keep ;;
  esac
  set -f
  # shellcheck disable=SC2086 # digits and newlines only
  set -- $pids
  set +f
  pids=$*
}

# foreign_pids MAINPID CGROUP: unit_pids with the programs foreign_programs found (one a line in
# foreign, split here so that no caller has to set its own arguments to them).
foreign_pids() {
  local main=$1 group=$2
  IFS=$nl
  set -f
  # shellcheck disable=SC2086 # one program a line
  set -- $foreign
  set +f
  unset IFS
  unit_pids "$main" "$group" "$@"
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
  [ -z "$exe" ] || { hash_of "/proc/$pid/exe"; emit "proc.$pid.sha256" "$hash"; }
}

# Established TCP connections with their owning processes (ss from iproute2).
connections() {
  ss -Htnp state established 2>/dev/null | while IFS= read -r line; do emit conn "$line"; done
}

# Facts about a file under a label: link target, hash, attributes, owner package, modified-from-package.
file_facts() {
  local label=$1 path=$2
  emit "$label.path" "$path"
  if [ -L "$path" ]; then emit "$label.link" "$(readlink -- "$path")"; fi
  if [ ! -e "$path" ] && [ ! -L "$path" ]; then
    emit "$label.missing" 1
    return 0
  fi
  if [ -f "$path" ]; then hash_of "$path"; emit "$label.sha256" "$hash"; fi
  emit "$label.mtime" "$(stat -c %Y -- "$path" 2>/dev/null)"
  attrs_of "$path"
  emit "$label.attrs" "$attrs"
  package_entry "$path"
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
