#!/usr/bin/env bash
# infra/docker/engine.sh — make a Docker engine available for the container tests.
#
#   infra/docker/engine.sh start    use the engine that answers `docker info`; if none does, install
#                                   Debian's docker.io (+ docker-compose 1.29) when dockerd is missing
#                                   (root, apt-get), start dockerd in the background and wait for it
#   infra/docker/engine.sh stop     stop dockerd only if this script started it (nothing else is removed)
#   infra/docker/engine.sh status   does an engine answer, who started it, which compose is there
#
# Files (git-ignored): .local/logs/dockerd.log (dockerd output; the previous one is kept as .log.1),
# .local/logs/apt-docker.log (package installation), .local/pids/dockerd (pid of the dockerd we started).
# Variables: ENGINE_START_TIMEOUT (seconds to wait for `docker info`, default 90),
#            ENGINE_STOP_TIMEOUT (seconds to wait for dockerd to exit, default 60).
# Timings are printed on stderr as `engine install: …` and `engine start: …`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LOGS="$ROOT/.local/logs"
PIDS="$ROOT/.local/pids"
PID_FILE="$PIDS/dockerd"
LOG_FILE="$LOGS/dockerd.log"
APT_LOG="$LOGS/apt-docker.log"
START_TIMEOUT="${ENGINE_START_TIMEOUT:-90}"
STOP_TIMEOUT="${ENGINE_STOP_TIMEOUT:-60}"

now_ms() { date +%s%3N; }
fmt_s() { printf '%d.%ds' "$(($1 / 1000))" "$((($1 % 1000) / 100))"; }
log() { printf '[engine] %s\n' "$*" >&2; }
die() { printf '[engine] error: %s\n' "$*" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }

engine_answers() { have docker && timeout 10 docker info >/dev/null 2>&1; }

# The pid recorded by this script, if that process is still a dockerd.
our_pid() {
  local pid
  [[ -f "$PID_FILE" ]] || return 1
  pid="$(head -n1 "$PID_FILE" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ && -r "/proc/$pid/comm" ]] || return 1
  [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == dockerd ]] || return 1
  echo "$pid"
}

# A dockerd that someone else started (its own pid file), if any.
foreign_pid() {
  local pid
  pid="$(cat /var/run/docker.pid 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ && "$(cat "/proc/$pid/comm" 2>/dev/null)" == dockerd ]] || return 1
  echo "$pid"
}

show_log_tail() {
  [[ -f "$1" ]] || return 0
  printf '[engine] ---- last 30 lines of %s ----\n' "$1" >&2
  tail -n 30 "$1" >&2 || true
  printf '[engine] ---- end ----\n' >&2
}

apt_install() { # packages... (apt-get update once, only when a package has no candidate)
  local p need_update=0
  for p in "$@"; do
    if ! apt-cache policy "$p" 2>/dev/null | grep -q 'Candidate: [0-9]'; then need_update=1; fi
  done
  if ((need_update)); then
    log "apt-get update"
    apt-get update >>"$APT_LOG" 2>&1 || { show_log_tail "$APT_LOG"; die "apt-get update failed"; }
  fi
  log "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" </dev/null >>"$APT_LOG" 2>&1 ||
    { show_log_tail "$APT_LOG"; die "apt-get install $* failed"; }
}

install_engine() {
  local t0 pkgs=()
  t0="$(now_ms)"
  have dockerd || pkgs+=(docker.io)
  have docker-compose || docker compose version >/dev/null 2>&1 || pkgs+=(docker-compose)
  if ((${#pkgs[@]} == 0)); then
    log "engine install: 0.0s (dockerd $(dockerd --version 2>/dev/null | sed 's/^Docker version //; s/,.*//') already installed)"
    return 0
  fi
  (($(id -u) == 0)) || die "${pkgs[*]} missing, and only root can install them (apt-get install ${pkgs[*]})"
  have apt-get || die "${pkgs[*]} missing, and there is no apt-get to install them with"
  mkdir -p "$LOGS"
  apt_install "${pkgs[@]}"
  have dockerd || die "docker.io is installed but there is no dockerd on PATH"
  log "engine install: $(fmt_s $(($(now_ms) - t0))) (${pkgs[*]})"
}

cmd_start() {
  local t0 pid deadline
  if engine_answers; then
    if pid="$(our_pid)"; then
      log "engine already answers (dockerd pid $pid, started by this script)"
    else
      log "engine already answers (not started by this script: it will be left running)"
    fi
    if have docker-compose || docker compose version >/dev/null 2>&1; then
      log "engine install: 0.0s (not needed)"
    elif (($(id -u) == 0)); then
      install_engine # docker-compose only
    else
      log "warning: neither docker-compose nor \`docker compose\` is installed (apt-get install docker-compose, as root)"
    fi
    log "engine start: 0.0s (already running)"
    return 0
  fi
  install_engine
  t0="$(now_ms)"
  if pid="$(our_pid)"; then
    log "dockerd (pid $pid, started by this script) runs but does not answer yet: waiting for it"
  elif pid="$(foreign_pid)"; then
    log "dockerd (pid $pid, not started by this script) runs but does not answer yet: waiting for it"
  else
    (($(id -u) == 0)) || die "no Docker engine answers and only root can start dockerd"
    mkdir -p "$LOGS" "$PIDS"
    if [[ -s "$LOG_FILE" ]]; then mv -f "$LOG_FILE" "$LOG_FILE.1"; fi
    # setsid: dockerd must outlive this script and not get the terminal's signals.
    setsid dockerd </dev/null >>"$LOG_FILE" 2>&1 &
    pid=$!
    echo "$pid" >"$PID_FILE"
    log "dockerd starting (pid $pid, log .local/logs/dockerd.log)"
  fi
  deadline=$(($(now_ms) + START_TIMEOUT * 1000))
  until engine_answers; do
    if [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" != dockerd ]]; then
      show_log_tail "$LOG_FILE"
      rm -f "$PID_FILE"
      die "dockerd (pid $pid) exited during start-up"
    fi
    if (($(now_ms) > deadline)); then
      show_log_tail "$LOG_FILE"
      die "no answer from \`docker info\` within ${START_TIMEOUT}s (dockerd pid $pid still runs)"
    fi
    sleep 0.5
  done
  log "engine start: $(fmt_s $(($(now_ms) - t0))) (Docker $(docker version -f '{{.Server.Version}}' 2>/dev/null || echo '?'))"
}

cmd_stop() {
  local pid t0
  if ! pid="$(our_pid)"; then
    rm -f "$PID_FILE"
    if engine_answers; then
      log "the running engine was not started by this script: leaving it alone"
    else
      log "no engine started by this script is running"
    fi
    return 0
  fi
  t0="$(now_ms)"
  log "stopping dockerd (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$(($(now_ms) + STOP_TIMEOUT * 1000))
  while [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == dockerd ]]; do
    if (($(now_ms) > deadline)); then
      log "dockerd (pid $pid) still runs after ${STOP_TIMEOUT}s: sending KILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.5
      break
    fi
    sleep 0.2
  done
  rm -f "$PID_FILE"
  log "engine stopped in $(fmt_s $(($(now_ms) - t0)))"
}

cmd_status() {
  local pid who="not started by this script" compose="none"
  if pid="$(our_pid)"; then who="started by this script, pid $pid"; fi
  if have docker-compose; then
    compose="$(docker-compose version --short 2>/dev/null || echo '?') (docker-compose)"
  elif docker compose version >/dev/null 2>&1; then
    compose="$(docker compose version --short 2>/dev/null) (docker compose plugin)"
  fi
  if engine_answers; then
    echo "engine: answers (Docker $(docker version -f '{{.Server.Version}}' 2>/dev/null), $who)"
    echo "compose: $compose"
  else
    echo "engine: not answering${pid:+ (dockerd pid $pid started by this script)}"
    echo "compose: $compose"
    return 1
  fi
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *)
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
