#!/usr/bin/env bash
# Apply the ACL files to Apache Kafka with kafka-acls.sh (run as a principal allowed to
# alter ACLs, e.g. the cluster's admin):
#   KAFKA_BIN=/opt/kafka/bin BOOTSTRAP=kafka-0.kafka:9093 COMMAND_CONFIG=admin.properties \
#     deploy/kafka/acls/apply.sh deploy/kafka/acls/*.txt
# Each line of a file: <principal> <operation> <resource type> <pattern type> <name>.
# Adding an ACL that exists already changes nothing, so the script can run again.
# Check afterwards with: kafka-acls.sh --bootstrap-server ... --list --principal User:passend-intake
set -euo pipefail
: "${BOOTSTRAP:?set BOOTSTRAP to the brokers, host:port}"
KAFKA_BIN="${KAFKA_BIN:-/opt/kafka/bin}"
extra=()
if [[ -n "${COMMAND_CONFIG:-}" ]]; then extra=(--command-config "$COMMAND_CONFIG"); fi
for file in "$@"; do
  while read -r principal operation resource pattern name; do
    [[ -z "$principal" || "$principal" == \#* ]] && continue
    case "$resource" in
      TOPIC) target=(--topic "$name") ;;
      GROUP) target=(--group "$name") ;;
      CLUSTER) target=(--cluster) ;;
      *) echo "$file: unknown resource type $resource" >&2; exit 64 ;;
    esac
    # kafka-acls.sh documents its operations in Pascal case: DESCRIBE_CONFIGS -> DescribeConfigs.
    op=$(awk -F_ '{for (i = 1; i <= NF; i++) printf "%s%s", toupper(substr($i, 1, 1)), tolower(substr($i, 2))}' <<<"$operation")
    "$KAFKA_BIN/kafka-acls.sh" --bootstrap-server "$BOOTSTRAP" "${extra[@]}" --add \
      --allow-principal "$principal" --operation "$op" \
      --resource-pattern-type "$pattern" "${target[@]}" >/dev/null
    echo "$principal $operation $resource $pattern $name"
  done < "$file"
done
