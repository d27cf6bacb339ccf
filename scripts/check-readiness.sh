#!/usr/bin/env bash
# Fails loudly when the readiness contract has drifted anywhere:
#   1. every doc under docs/ starts with the metadata header
#      (Status, Owner, Last Reviewed, Depends On, Supersedes);
#   2. the generated sections of docs/ match the Go registry
#      (go run ./internal/docgen/gendocs would change nothing);
#   3. the generated Go code matches contracts/openapi.yaml
#      (scripts/generate.sh would change nothing);
#   4. the registry vs docs/error-codes.md vs OpenAPI enum tests, the
#      readiness schema vs readiness.Report test, and the import-graph tests;
#   5. gofmt, go vet and staticcheck (any finding fails).
# It never leaves a change behind: generated files are regenerated into the
# working tree, compared, and restored. Works from a clean checkout with Go
# (the pinned generator and staticcheck are fetched through the module proxy
# on first use; both run as `go run pkg@version`, so neither enters go.mod).
set -euo pipefail
cd "$(dirname "$0")/.."

fail=0
die() { echo "check-readiness: FAIL: $*" >&2; fail=1; }

echo "== doc metadata headers"
want=("Status:" "Owner:" "Last Reviewed:" "Depends On:" "Supersedes:")
docs=$( (git ls-files 'docs/*.md' 'docs/**/*.md' 2>/dev/null; find docs -name '*.md' 2>/dev/null) | sort -u)
for f in $docs; do
  [ -f "$f" ] || continue
  for i in 0 1 2 3 4; do
    line=$(sed -n "$((i + 1))p" "$f")
    case "$line" in
      "${want[$i]}"*) ;;
      *) die "$f: line $((i + 1)) must start with '${want[$i]}' (got '${line}')" ;;
    esac
  done
done

# regenerated NAME CMD PATH...: runs CMD and fails if it changes any file
# under the PATHs. Files it changed are put back as they were; nothing
# else is touched (other people may be editing the tree).
regenerated() {
  local name=$1 cmd=$2
  shift 2
  local tmp f
  tmp=$(mktemp -d)
  find "$@" -type f -print0 | tar --null -cf "$tmp/before.tar" -T -
  mkdir "$tmp/before"
  tar -xf "$tmp/before.tar" -C "$tmp/before"
  if ! (eval "$cmd") >"$tmp/out" 2>&1; then
    cat "$tmp/out" >&2
    die "$name: '$cmd' failed"
  fi
  while IFS= read -r -d '' f; do
    if ! cmp -s "$tmp/before/$f" "$f"; then
      diff -u "$tmp/before/$f" "$f" >&2 || true
      die "$name: $f is stale; run: $cmd (and commit the result)"
      cp -p "$tmp/before/$f" "$f"
    fi
  done < <(cd "$tmp/before" && find . -type f -print0 | sed -z 's|^\./||')
  while IFS= read -r -d '' f; do
    if [ ! -e "$tmp/before/$f" ]; then
      die "$name: '$cmd' created $f"
      rm -f "$f"
    fi
  done < <(find "$@" -type f -print0)
  rm -rf "$tmp"
}

echo "== generated docs (go run ./internal/docgen/gendocs)"
regenerated "docs" "go run ./internal/docgen/gendocs" docs

echo "== generated code (scripts/generate.sh)"
regenerated "contracts" "bash scripts/generate.sh" contracts/api.gen.go

echo "== registry, docs and OpenAPI tests"
go test -count=1 -run 'Registry|Enum|Docs|Schemas|Spec|Import|Contract' \
  ./readiness/ ./internal/docgen/ ./contracts/ ./apihttp/ || die "registry/docs/OpenAPI tests"

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.git/*'))
if [ -n "$unformatted" ]; then
  echo "$unformatted" >&2
  die "gofmt would change the files above"
fi

echo "== go vet"
go vet ./... || die "go vet"

# Pinned like the generator; 0.8.2 (2026.2.2) supports Go 1.26 and 1.27.
STATICCHECK_VERSION=v0.8.2
echo "== staticcheck ${STATICCHECK_VERSION}"
go run "honnef.co/go/tools/cmd/staticcheck@${STATICCHECK_VERSION}" ./... || die "staticcheck"

if [ "$fail" -ne 0 ]; then
  echo "check-readiness: drift found (see FAIL lines above)" >&2
  exit 1
fi
echo "== check-readiness passed"
