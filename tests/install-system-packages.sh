#!/usr/bin/env bash
# The system packages the tests need beyond pip: Debian's chromium, which the web
# reader's browser tests drive (tests/test_web.py); newsboat and tmux, a real client
# of the sync APIs and the terminal it runs in (tests/test_api_*.py).
# Does nothing when they are there.
set -euo pipefail

missing=()
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
command -v newsboat >/dev/null 2>&1 || missing+=(newsboat)
command -v tmux >/dev/null 2>&1 || missing+=(tmux)
if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi

as_root() {
    if [[ "$(id -u)" -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "install-system-packages.sh: ${missing[*]} missing, and installing" \
            "them needs root or sudo: apt-get install ${missing[*]}" >&2
        exit 1
    fi
}

as_root env DEBIAN_FRONTEND=noninteractive apt-get update
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
