#!/usr/bin/env bash
# Move a Google Cloud Storage bucket into lockr: the same command with gcs: as the
# source. Configure a `gcs` remote and the `lockr` remote first.
#
#   SOURCE_BUCKET=my-bucket LOCKR_ACCOUNT=alice ./migrate-from-gcs.sh
set -euo pipefail
SOURCE_BUCKET=${SOURCE_BUCKET:-your-source-bucket}
LOCKR_ACCOUNT=${LOCKR_ACCOUNT:-your-lockr-account}
exec rclone sync "gcs:${SOURCE_BUCKET}" "lockr:${LOCKR_ACCOUNT}" \
  --progress \
  --transfers=16 \
  --checkers=8 \
  "$@"
