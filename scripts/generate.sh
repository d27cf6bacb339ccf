#!/usr/bin/env bash
# Regenerates the committed Go code derived from contracts/openapi.yaml.
# The generator runs at a pinned version through `go run pkg@version`, so it
# never enters go.mod and an importer of the SDK never pulls it in.
# Running it twice gives no diff; scripts/check-readiness.sh fails when the
# committed code is stale.
set -euo pipefail
cd "$(dirname "$0")/.."

OAPI_CODEGEN_VERSION=v2.8.2

go run "github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen@${OAPI_CODEGEN_VERSION}" \
  -config contracts/oapi-codegen.yaml contracts/openapi.yaml
gofmt -w contracts/api.gen.go
