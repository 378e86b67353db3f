#!/bin/sh
# Entrypoint of tracker-standin/node (as in the official node image): the arguments run as a
# command, or as `node ARGS` when the first one is an option (-e, --version, ...) or no command.
set -e
if [ "${1#-}" != "$1" ] || [ -z "$(command -v "$1" || true)" ] || { [ -f "$1" ] && ! [ -x "$1" ]; }; then
  set -- node "$@"
fi
exec "$@"
