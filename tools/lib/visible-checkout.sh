# Sourced by tools/test and tools/demo. Jobs run as unprivileged users with a private /tmp and
# /dev/shm (the SPANK plugin), and run binaries from the build tree: a checkout under /tmp, or
# one those users cannot read (e.g. under root's 0700 home), is copied to
# ${EGRET_SRC_COPY:-/var/lib/egret-src} and the calling script re-executed from the copy.
#   reexec_from_visible_checkout ROOT SCRIPT_RELATIVE_PATH ARGS...
reexec_from_visible_checkout() {
  local root=$1 script=$2 dest=${EGRET_SRC_COPY:-/var/lib/egret-src} why=""
  shift 2
  case "$root/" in
    /tmp/*|/dev/shm/*) why="is under /tmp, which jobs cannot see" ;;
    *) if id nobody >/dev/null 2>&1 && ! runuser -u nobody -- test -r "$root/CMakeLists.txt" 2>/dev/null; then
         why="is not readable by the users jobs run as"
       fi ;;
  esac
  [ -n "$why" ] || return 0
  echo "$(basename "$script"): $root $why; running a copy in $dest"
  rm -rf "$dest" && mkdir -p "$(dirname "$dest")" && cp -a "$root" "$dest" && chmod 0755 "$dest"
  exec "$dest/$script" "$@"
}
