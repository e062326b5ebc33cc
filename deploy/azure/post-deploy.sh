#!/usr/bin/env bash
# What the ARM templates cannot create, run once after `az deployment group create` (and safe to re-run:
# every step looks before it creates):
#
#   deploy/azure/post-deploy.sh entra               the gateway's Entra ID app registration with its App ID URI
#                                                   (the audience of the playbook's token), and its service
#                                                   principal; prints the Azure Security Insights object id
#                                                   the automation rule template needs
#   deploy/azure/post-deploy.sh search-attributes   the Temporal namespace's custom search attributes
#   deploy/azure/post-deploy.sh all                 both (the default)
#
# entra needs `az login` with a role that may create app registrations (Application Developer or more).
#   GATEWAY_AUDIENCE       App ID URI (default api://itdr-verify-gateway, as the templates' gatewayAudience)
#   GATEWAY_APP_NAME       display name (default itdr-verify-gateway)
# search-attributes needs the Temporal CLI (`temporal`, or TEMPORAL_CLI=path) and the product's own variables:
#   TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, and TEMPORAL_API_KEY (Temporal Cloud) or
#   TEMPORAL_TLS_CERT_PATH + TEMPORAL_TLS_KEY_PATH (mTLS), TEMPORAL_TLS_CA_PATH (a private CA)
# Nothing secret is printed.
set -euo pipefail

log() { printf 'post-deploy: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Microsoft Sentinel's first-party app ("Azure Security Insights"); the same app id in every tenant.
SECURITY_INSIGHTS_APP_ID=98785600-1bb7-4fb9-b9fa-19afe2c8a360

entra() {
  command -v az >/dev/null 2>&1 || die "the Azure CLI (az) is required; run az login first"
  local audience="${GATEWAY_AUDIENCE:-api://itdr-verify-gateway}" name="${GATEWAY_APP_NAME:-itdr-verify-gateway}" app_id
  app_id="$(az ad app list --identifier-uri "$audience" --query '[0].appId' -o tsv)"
  if [[ -z "$app_id" ]]; then
    log "creating the app registration $name with the App ID URI $audience"
    app_id="$(az ad app create --display-name "$name" --identifier-uris "$audience" --sign-in-audience AzureADMyOrg --query appId -o tsv)"
  else
    log "app registration for $audience exists (appId $app_id)"
  fi
  # Tokens are issued for an application only when it has a service principal in the tenant.
  if ! az ad sp show --id "$app_id" --query id -o tsv >/dev/null 2>&1; then
    log "creating the service principal of $app_id"
    az ad sp create --id "$app_id" --query id -o tsv >/dev/null
  fi
  local insights
  insights="$(az ad sp show --id "$SECURITY_INSIGHTS_APP_ID" --query id -o tsv)"
  printf 'gatewayAppId=%s\n' "$app_id"
  printf 'gatewayAudience=%s\n' "$audience"
  printf 'azureSecurityInsightsObjectId=%s\n' "$insights"
}

# The product's search attributes (src/shared/search-attributes.ts; the stack test checks that they match).
SEARCH_ATTRIBUTES=(
  IncidentId=Keyword
  IncidentNumber=Int
  SentinelWorkspace=Keyword
  VerifiedUser=Keyword
  VerificationStatus=Keyword
  IncidentSeverity=Keyword
  IncodeInterviewId=Keyword
  IncodeSessionState=Keyword
  LinkedIncidentIds=KeywordList
  VerificationPolicy=Keyword
)

search_attributes() {
  local cli="${TEMPORAL_CLI:-temporal}"
  command -v "$cli" >/dev/null 2>&1 || die "the Temporal CLI is required (temporal on PATH, or TEMPORAL_CLI=path)"
  [[ -n "${TEMPORAL_ADDRESS:-}" ]] || die "TEMPORAL_ADDRESS is not set"
  local namespace="${TEMPORAL_NAMESPACE:-default}"
  local connection=(--address "$TEMPORAL_ADDRESS" --namespace "$namespace")
  # The API key stays in the environment (the CLI reads TEMPORAL_API_KEY itself): never on a command line.
  [[ -n "${TEMPORAL_TLS_CERT_PATH:-}" ]] && connection+=(--tls-cert-path "$TEMPORAL_TLS_CERT_PATH" --tls-key-path "${TEMPORAL_TLS_KEY_PATH:?TEMPORAL_TLS_KEY_PATH goes with TEMPORAL_TLS_CERT_PATH}")
  [[ -n "${TEMPORAL_TLS_CA_PATH:-}" ]] && connection+=(--tls-ca-path "$TEMPORAL_TLS_CA_PATH")
  # The list is a table of Name and Type (system attributes included; custom names never clash with them).
  local existing
  existing="$("$cli" operator search-attribute list "${connection[@]}")"
  local entry name type current
  for entry in "${SEARCH_ATTRIBUTES[@]}"; do
    name="${entry%%=*}"
    type="${entry#*=}"
    current="$(printf '%s\n' "$existing" | awk -v name="$name" '$1 == name { print $2 }')"
    if [[ -z "$current" ]]; then
      log "creating search attribute $name ($type) in $namespace"
      "$cli" operator search-attribute create "${connection[@]}" --name "$name" --type "$type" >/dev/null
    elif [[ "$current" == "$type" ]]; then
      log "search attribute $name ($type) exists"
    else
      die "search attribute $name exists with type $current, not $type: rename or remove it first"
    fi
  done
}

case "${1:-all}" in
  entra) entra ;;
  search-attributes) search_attributes ;;
  all) entra && search_attributes ;;
  *) die "usage: $0 [entra|search-attributes|all]" ;;
esac
