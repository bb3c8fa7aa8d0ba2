#!/usr/bin/env bash
# Helm v4 for the chart's tests (deploy/helm/boxscope, test/deploy/helm.test.ts): `helm lint` and
# `helm template` only, no cluster. Helm publishes no Debian package and get.helm.sh is not reachable
# from CI, so it is built from source fetched through the Go module proxy with the machine's Go
# (/usr/local/go, Helm v4.3 needs Go >= 1.26). The version is pinned; go.sum checking against
# sum.golang.org (Go's default) verifies the sources. The module and build caches live under
# ${BOXSCOPE_CACHE:-$HOME/.cache/boxscope}/go, so a rebuild after a cache hit takes seconds; when
# /usr/local/bin/helm already is this version nothing is built at all.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

HELM_VERSION=v4.3.2
GO="${BOXSCOPE_GO:-/usr/local/go/bin/go}"
DEST=/usr/local/bin/helm
CACHE="${BOXSCOPE_CACHE:-$HOME/.cache/boxscope}/go"

fail() {
  echo "85-helm: $*" >&2
  exit 1
}

# `helm version --short` prints "v4.3.2+g<commit>" when the build stamped a commit, "v4.3.2" here.
installed_version() {
  "$DEST" version --short 2>/dev/null | sed 's/+.*//'
}

if [ -x "$DEST" ] && [ "$(installed_version)" = "$HELM_VERSION" ]; then
  echo "85-helm: helm $HELM_VERSION already at $DEST"
  exit 0
fi

apt_install ca-certificates
[ -x "$GO" ] || fail "no Go at $GO (set BOXSCOPE_GO); Helm $HELM_VERSION is built from source and needs Go >= 1.26"

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$CACHE"
echo "85-helm: building helm $HELM_VERSION from the Go module proxy ($("$GO" version | cut -d' ' -f3))"
# The flags of Helm's own Makefile (static, stripped, version stamped); without the -X the binary
# reports only "v4.3". GOTOOLCHAIN=local: never download another Go behind our back.
env GOPATH="$CACHE" GOMODCACHE="$CACHE/pkg/mod" GOCACHE="$CACHE/build-cache" GOBIN="$stage" \
  GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS= \
  "$GO" install -trimpath \
  -ldflags "-w -s -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION" \
  "helm.sh/helm/v4/cmd/helm@$HELM_VERSION" ||
  fail "go install helm.sh/helm/v4/cmd/helm@$HELM_VERSION failed"
install -m 0755 "$stage/helm" "$DEST"
[ "$(installed_version)" = "$HELM_VERSION" ] ||
  fail "$DEST reports '$("$DEST" version --short 2>&1)', not $HELM_VERSION"
echo "85-helm: installed helm $HELM_VERSION at $DEST"
