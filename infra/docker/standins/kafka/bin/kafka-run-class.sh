#!/usr/bin/env bash
# kafka-run-class.sh CLASS [ARGS...] — run a Kafka command-line tool class in a small JVM
# (tracker-standin/kafka). KAFKA_TOOLS_HEAP_OPTS (default -Xmx256m) and KAFKA_TOOLS_OPTS add
# JVM options; the broker's KAFKA_HEAP_OPTS is deliberately not used for the tools.
set -euo pipefail
KAFKA_HOME=/opt/kafka
# shellcheck disable=SC2086 # option strings are meant to split into words
exec java ${KAFKA_TOOLS_HEAP_OPTS:--Xmx256m} -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
  -Dlog4j2.configurationFile="$KAFKA_HOME/config/tools-log4j2.yaml" ${KAFKA_TOOLS_OPTS:-} \
  -cp "$KAFKA_HOME/libs/*" "$@"
