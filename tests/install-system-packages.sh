#!/usr/bin/env bash
# The system packages the tests need beyond pip: Debian's chromium, which the web
# reader's browser tests drive (tests/test_web.py). Does nothing when it is there.
set -euo pipefail

if [[ -x /usr/bin/chromium ]]; then
    exit 0
fi

as_root() {
    if [[ "$(id -u)" -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "install-system-packages.sh: /usr/bin/chromium is missing, and installing" \
            "it needs root or sudo: apt-get install chromium" >&2
        exit 1
    fi
}

as_root env DEBIAN_FRONTEND=noninteractive apt-get update
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
