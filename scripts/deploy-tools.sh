#!/usr/bin/env bash
# Installs (once) and prints the path of a pinned tool that checks or runs the deployment:
#
#   bash scripts/deploy-tools.sh checkov               checkov (PyPI), in its own venv
#   bash scripts/deploy-tools.sh kubernetes-validate   kubernetes-validate (PyPI), in its own venv
#   bash scripts/deploy-tools.sh helm                  Helm, built with `go install` from the Go module proxy
#   bash scripts/deploy-tools.sh temporal-server       the Temporal server (go.temporal.io/server/cmd/server)
#   bash scripts/deploy-tools.sh temporal-sql-tool     its SQL schema tool (go.temporal.io/server/cmd/tools/sql)
#   bash scripts/deploy-tools.sh temporal-sql-schema   the directory of the server's versioned SQL schemas
#   bash scripts/deploy-tools.sh all                   all of the above; prints one "name path" line each
#
# Everything goes under $ITDR_CACHE_DIR/deploy-tools/<tool>-<version>/ (default ~/.cache/itdr-verify), nothing
# into the work tree or system-wide, so a second run finds it at once. Installs run under a lock per tool.
# Progress goes to stderr, the path to stdout.
set -euo pipefail

CHECKOV_VERSION="${CHECKOV_VERSION:-3.3.30}"
KUBERNETES_VALIDATE_VERSION="${KUBERNETES_VALIDATE_VERSION:-1.37.0}"
HELM_VERSION="${HELM_VERSION:-v4.3.2}"
TEMPORAL_SERVER_VERSION="${TEMPORAL_SERVER_VERSION:-v1.32.2}"
# go.temporal.io/server v1.32 needs Go >= 1.26.10; the Go module proxy serves this toolchain.
TEMPORAL_SERVER_GOTOOLCHAIN="${TEMPORAL_SERVER_GOTOOLCHAIN:-go1.27.3}"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
CACHE_ROOT="${ITDR_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/itdr-verify}/deploy-tools"

log() { printf 'deploy-tools: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Runs "$install_fn <dir>" once for $dest, under a lock, unless $dest holds a finished install. The install
# writes into $dest itself (a venv's scripts name their own absolute path, so it cannot be moved afterwards)
# and marks it finished last: a crashed or concurrent run never leaves a half-installed tool that is used.
ensure() {
  local dest="$1" relative="$2" install_fn="$3"
  if [[ -f "$dest/.installed" && -x "$dest/$relative" ]]; then printf '%s\n' "$dest/$relative"; return 0; fi
  mkdir -p "$(dirname "$dest")"
  command -v flock >/dev/null 2>&1 || die "flock (util-linux) is required"
  local lock="$dest.lock"
  (
    exec 9>"$lock"
    if ! flock -n 9; then
      log "waiting for another install of $(basename "$dest") (lock $lock)"
      flock -w 1800 9 || die "timed out waiting for $lock"
    fi
    [[ -f "$dest/.installed" && -x "$dest/$relative" ]] && exit 0
    rm -rf "$dest"
    mkdir -p "$dest"
    local start=$SECONDS
    "$install_fn" "$dest"
    [[ -x "$dest/$relative" ]] || die "the install of $(basename "$dest") produced no $relative"
    touch "$dest/.installed"
    log "installed $(basename "$dest") in $((SECONDS - start)) s"
  )
  printf '%s\n' "$dest/$relative"
}

python_venv() {
  local dir="$1" name="$2" version="$3"
  local requirement="$name==$version"
  command -v python3 >/dev/null 2>&1 || die "python3 is required for $requirement"
  python3 -m venv "$dir/venv" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
  log "installing $requirement from PyPI into $dir"
  # The constraints file pins every transitive dependency too (`pip freeze` of a fresh install: regenerate it
  # when the version changes).
  PIP_ROOT_USER_ACTION=ignore "$dir/venv/bin/pip" install --disable-pip-version-check --no-input --quiet \
    --constraint "$ROOT/scripts/deploy-tools/$name.constraints.txt" "$requirement" >&2
}

install_checkov() {
  python_venv "$1" checkov "$CHECKOV_VERSION"
  ln -s venv/bin/checkov "$1/checkov"
}

install_kubernetes_validate() {
  python_venv "$1" kubernetes-validate "$KUBERNETES_VALIDATE_VERSION"
  ln -s venv/bin/kubernetes-validate "$1/kubernetes-validate"
}

go_build() {
  local dir="$1" toolchain="$2" ldflags="$3"
  shift 3
  command -v go >/dev/null 2>&1 || die "go is required to build $*"
  log "building $* with go install (takes minutes; niced)"
  mkdir -p "$dir/bin"
  GOTOOLCHAIN="$toolchain" GOBIN="$dir/bin" CGO_ENABLED=0 GOFLAGS=-buildvcs=false \
    nice -n 10 go install -trimpath -ldflags "$ldflags" "$@" >&2
}

install_helm() {
  # Helm stamps its version with -X; without it `helm version` says "v4.3".
  go_build "$1" "${GOTOOLCHAIN:-auto}" "-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION" \
    "helm.sh/helm/v4/cmd/helm@$HELM_VERSION"
}

install_temporal_server() {
  go_build "$1" "$TEMPORAL_SERVER_GOTOOLCHAIN" "-s -w" \
    "go.temporal.io/server/cmd/server@$TEMPORAL_SERVER_VERSION" "go.temporal.io/server/cmd/tools/sql@$TEMPORAL_SERVER_VERSION"
  # The server's own names for them.
  mv "$1/bin/server" "$1/bin/temporal-server"
  mv "$1/bin/sql" "$1/bin/temporal-sql-tool"
  # The SQL tool embeds the initial schemas but not every upgrade step: keep the versioned schemas beside it.
  local module
  module="$(GOTOOLCHAIN="$TEMPORAL_SERVER_GOTOOLCHAIN" GOFLAGS=-mod=mod go mod download -json "go.temporal.io/server@$TEMPORAL_SERVER_VERSION" \
    | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [[ -d "$module/schema" ]] || die "no schema directory in the downloaded go.temporal.io/server module ($module)"
  cp -R "$module/schema" "$1/schema"
  chmod -R u+w "$1/schema"
}

tool_path() {
  case "$1" in
    checkov) ensure "$CACHE_ROOT/checkov-$CHECKOV_VERSION" checkov install_checkov ;;
    kubernetes-validate) ensure "$CACHE_ROOT/kubernetes-validate-$KUBERNETES_VALIDATE_VERSION" kubernetes-validate install_kubernetes_validate ;;
    helm) ensure "$CACHE_ROOT/helm-$HELM_VERSION" bin/helm install_helm ;;
    temporal-server) ensure "$CACHE_ROOT/temporal-server-$TEMPORAL_SERVER_VERSION" bin/temporal-server install_temporal_server ;;
    temporal-sql-tool) ensure "$CACHE_ROOT/temporal-server-$TEMPORAL_SERVER_VERSION" bin/temporal-sql-tool install_temporal_server ;;
    # The versioned SQL schemas the tool applies (postgresql/v12/temporal/versioned, .../visibility/versioned).
    temporal-sql-schema) ensure "$CACHE_ROOT/temporal-server-$TEMPORAL_SERVER_VERSION" bin/temporal-sql-tool install_temporal_server >/dev/null
      printf '%s\n' "$CACHE_ROOT/temporal-server-$TEMPORAL_SERVER_VERSION/schema" ;;
    *) die "unknown tool '$1' (checkov, kubernetes-validate, helm, temporal-server, temporal-sql-tool, all)" ;;
  esac
}

[[ $# -eq 1 ]] || die "usage: $0 checkov|kubernetes-validate|helm|temporal-server|temporal-sql-tool|all"
if [[ "$1" == all ]]; then
  for tool in checkov kubernetes-validate helm temporal-server temporal-sql-tool; do
    printf '%s %s\n' "$tool" "$(tool_path "$tool")"
  done
else
  tool_path "$1"
fi
