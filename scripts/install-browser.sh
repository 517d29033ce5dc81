#!/usr/bin/env bash
# Installs Debian's Chromium and its WebDriver (chromedriver) for the approver page's
# browser test. Idempotent and quick when both are present: the package lists are only
# refreshed when an install is needed.
set -euo pipefail

if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "install-browser: chromium/chromedriver missing and not root (no sudo)" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
# Try from the current lists first; refresh them only if that fails.
if ! $SUDO apt-get install -y --no-install-recommends chromium chromium-driver; then
    $SUDO apt-get update
    $SUDO apt-get install -y --no-install-recommends chromium chromium-driver
fi

command -v chromium >/dev/null && command -v chromedriver >/dev/null
