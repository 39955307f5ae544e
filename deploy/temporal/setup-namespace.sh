#!/bin/sh
# The namespace and the search attributes of INTERFACE.md, on the cluster (idempotent).
# SEARCH_ATTRIBUTES: "Name=Type Name=Type ..." (docker-compose.yml, checked by tests/workers/test_compose.py).
set -eu
: "${TEMPORAL_ADDRESS:?}" "${NAMESPACE:?}" "${SEARCH_ATTRIBUTES:?}"
until temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do
  echo 'waiting for the Temporal frontend'; sleep 2
done
if ! temporal operator namespace describe -n "$NAMESPACE" --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; then
  temporal operator namespace create -n "$NAMESPACE" --retention "${RETENTION:-30d}" --address "$TEMPORAL_ADDRESS"
fi
existing=$(temporal operator search-attribute list -n "$NAMESPACE" --address "$TEMPORAL_ADDRESS" -o json)
for pair in $SEARCH_ATTRIBUTES; do
  name=${pair%%=*}; type=${pair#*=}
  case "$existing" in
    *"\"$name\""*) echo "search attribute $name exists" ;;
    *) temporal operator search-attribute create -n "$NAMESPACE" --address "$TEMPORAL_ADDRESS" \
         --name "$name" --type "$type" ;;
  esac
done
echo "namespace $NAMESPACE is ready"
