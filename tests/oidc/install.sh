#!/usr/bin/env sh
# The tests' OpenID provider (oidc-provider from npm, exact versions in package-lock.json).
set -eu
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --loglevel=error
