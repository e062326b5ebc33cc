#!/usr/bin/env bash
# Offline checks of deploy/: the ARM templates and the Helm chart (`npm run test:deploy`; .ci/run runs it).
#   - checkov (pinned, --skip-download) on the ARM templates and on the rendered chart; every skipped check
#     is named and justified where it applies (metadata.checkov in a template, checkov.io/skip annotations)
#   - helm lint --strict and helm template for the default values and each deploy/helm/*/examples/*.yaml
#   - kubernetes-validate --strict (unknown fields fail) of every rendered manifest, for the oldest and the
#     newest Kubernetes version the chart supports
#   - scripts/check-rendered-chart.mjs: the environment and probes the manifests set match the processes
# The templates' own structure (declared/used parameters, the playbook ↔ gateway contract) is in npm test
# (test/deploy). Tools come from scripts/deploy-tools.sh; nothing is written into the work tree.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Oldest supported (Chart.yaml kubeVersion) and the newest kubernetes-validate bundles a schema for.
KUBERNETES_VERSIONS=(1.30.0 1.35.0)

checkov="$(bash scripts/deploy-tools.sh checkov)"
kubernetes_validate="$(bash scripts/deploy-tools.sh kubernetes-validate)"
helm="$(bash scripts/deploy-tools.sh helm)"
[[ -f dist/src/config/gateway.js && -f dist/src/config/worker.js && -f dist/test/deploy/env-check.js ]] || npm run build >/dev/null

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# Helm keeps caches and plugins under these; keep them out of $HOME's config and the work tree.
export HELM_CACHE_HOME="$work/helm/cache" HELM_CONFIG_HOME="$work/helm/config" HELM_DATA_HOME="$work/helm/data"

passed=0
failed=0
check() {
  local name="$1"
  shift
  local start=$SECONDS
  if "$@" >"$work/out.log" 2>&1; then
    passed=$((passed + 1))
    printf 'ok    %s (%d s)\n' "$name" $((SECONDS - start))
  else
    failed=$((failed + 1))
    printf 'FAIL  %s\n' "$name"
    sed 's/^/      /' "$work/out.log"
  fi
}

checkov_run() {
  # --compact: failed checks without the resource's source; the summary line says what passed.
  "$checkov" --skip-download --quiet --compact "$@"
}

check "checkov: ARM templates (deploy/azure)" checkov_run --framework arm -d deploy/azure

for chart in deploy/helm/*/; do
  chart="${chart%/}"
  values_files=("")
  for example in "$chart"/examples/*.yaml; do [[ -e "$example" ]] && values_files+=("$example"); done
  for values in "${values_files[@]}"; do
    label="$(basename "$chart") ${values:+$(basename "$values")}"
    label="${label% }"
    [[ -z "$values" ]] && label+=" (default values)"
    rendered="$work/rendered/$(basename "$chart")-$(basename "${values:-default}" .yaml).yaml"
    mkdir -p "$(dirname "$rendered")"
    args=()
    [[ -n "$values" ]] && args=(-f "$values")
    check "helm lint --strict: $label" "$helm" lint --strict "$chart" "${args[@]}"
    check "helm template: $label" bash -c '"$1" template itdr-verify "$2" --namespace itdr-verify "${@:4}" >"$3"' _ "$helm" "$chart" "$rendered" "${args[@]}"
    for version in "${KUBERNETES_VERSIONS[@]}"; do
      check "kubernetes-validate --strict -k $version: $label" "$kubernetes_validate" --strict --quiet -k "$version" "$rendered"
    done
    if [[ -n "$values" ]]; then
      check "environment and probes: $label" node scripts/check-rendered-chart.mjs --complete "$rendered"
    else
      check "environment and probes: $label" node scripts/check-rendered-chart.mjs "$rendered"
    fi
  done
done

# Every rendering together, so a check that one values file turns off is still run on the others.
check "checkov: rendered chart (all values files)" checkov_run --framework kubernetes -d "$work/rendered"

printf '%d passed, %d failed\n' "$passed" "$failed"
[[ "$failed" -eq 0 ]]
