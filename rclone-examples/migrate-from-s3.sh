#!/usr/bin/env bash
# Move an S3 bucket into lockr with one rclone invocation (the storage seed's
# one-switch command). Configure an `s3` remote and the `lockr` remote first.
#
#   SOURCE_BUCKET=my-bucket LOCKR_ACCOUNT=alice ./migrate-from-s3.sh
set -euo pipefail
SOURCE_BUCKET=${SOURCE_BUCKET:-your-source-bucket}
LOCKR_ACCOUNT=${LOCKR_ACCOUNT:-your-lockr-account}
exec rclone sync "s3:${SOURCE_BUCKET}" "lockr:${LOCKR_ACCOUNT}" \
  --progress \
  --transfers=16 \
  --checkers=8 \
  "$@"
