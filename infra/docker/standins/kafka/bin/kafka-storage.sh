#!/usr/bin/env bash
# kafka-storage.sh — as in the Kafka distribution (tracker-standin/kafka)
exec "$(dirname "$0")/kafka-run-class.sh" kafka.tools.StorageTool "$@"
