#!/bin/sh
# The jgo image's entrypoint (PID 1 is tini, which runs this script).
#
#   1. Loads the env file ($JGO_ENV_FILE, default ./.env) into the environment when it exists,
#      parsed as dotenv does (by dist/scripts/docker-env.js). The process environment wins: a
#      variable already set to a non-empty value is left alone, as in jgo's own settings.
#   2. Creates the cache layout under $JGO_CACHE_DIR (default /jgo-cache): repos, work, runs,
#      codex, go-build, go-mod (and $CODEX_HOME, $GOCACHE, $GOMODCACHE when they point elsewhere).
#   3. Execs, keeping the exit code and the signals:
#        a jgo command (run, resume, runs, show, gc, doctor) or an option  ->  jgo "$@"
#        anything else (sleep infinity, bash, jgo-gate …)                 ->  "$@" as it is
#        no arguments                                                     ->  jgo --help
#
# Never prints a value from the env file, and never runs with `set -x`.
set -eu

say() { printf 'jgo-entrypoint: %s\n' "$*" >&2; }

# 1. The env file.
env_file=${JGO_ENV_FILE:-.env}
if [ -e "$env_file" ]; then
  # This script is <jgo>/scripts/docker-entrypoint.sh; the loader is in <jgo>/dist/scripts
  # (/opt/jgo in the image).
  case $0 in */*) here=${0%/*} ;; *) here=. ;; esac
  env_exports=$(node "$here/../dist/scripts/docker-env.js" "$env_file") || exit 2
  eval "$env_exports"
  unset env_exports
fi

# 2. The cache layout. A cache that cannot be written is reported, not fatal: jgo says what to
#    do when it needs the cache, and `bash` or `sleep infinity` should still start.
cache=${JGO_CACHE_DIR:-/jgo-cache}
if mkdir -p -- "$cache" 2>/dev/null && [ -w "$cache" ]; then
  mkdir -p -- "$cache/repos" "$cache/work" "$cache/runs" "$cache/go-build" "$cache/go-mod" \
    ${GOCACHE:+"$GOCACHE"} ${GOMODCACHE:+"$GOMODCACHE"} || say "cannot create the cache layout in $cache"
  # codex keeps its login and sessions here: private (0700), like jgo-codex makes it.
  for dir in "$cache/codex" ${CODEX_HOME:+"$CODEX_HOME"}; do
    [ -d "$dir" ] || { mkdir -p -- "$dir" && chmod 0700 -- "$dir"; } || say "cannot create $dir"
  done
  # Any UID can run the image (docker run --user, OpenShift): give it a writable HOME.
  if [ -z "${HOME:-}" ] || [ ! -d "$HOME" ] || [ ! -w "$HOME" ]; then
    HOME=$cache/home
    export HOME
    { mkdir -p -- "$HOME" && chmod 0700 -- "$HOME"; } || say "cannot create $HOME"
  fi
else
  say "the cache $cache cannot be created or written by uid $(id -u)"
  say "  hint: mount a volume there that this user can write (Kubernetes: securityContext.fsGroup: $(id -g))"
fi

# 3. Run.
if [ "$#" -eq 0 ]; then
  exec jgo --help
fi
case $1 in
  run | resume | runs | show | gc | serve | doctor | -*) exec jgo "$@" ;;
  *) exec "$@" ;;
esac
