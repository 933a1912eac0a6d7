#!/usr/bin/env bash
# Make sure a working virtualenv with pip exists at $1 (default .venv); installs python3-venv
# through apt when the system Python lacks ensurepip and we are root.
set -euo pipefail

venv_dir=${1:-.venv}

venv_works() {
    [ -x "$venv_dir/bin/python" ] && "$venv_dir/bin/python" -m pip --version >/dev/null 2>&1
}

if venv_works; then
    exit 0
fi

if [ -e "$venv_dir" ]; then
    echo "venv: $venv_dir exists but has no working pip; recreating it"
    rm -rf "$venv_dir"
fi

err_file=$(mktemp)
trap 'rm -f "$err_file"' EXIT
if python3 -m venv "$venv_dir" 2>"$err_file"; then
    exit 0
fi

# Debian and Ubuntu split ensurepip into the python3-venv package.
rm -rf "$venv_dir"
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "venv: python3 -m venv failed (python3-venv missing?); installing python3-venv with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q python3-venv
    python3 -m venv "$venv_dir"
else
    cat "$err_file" >&2
    echo "venv: python3 -m venv failed; install your distribution's python3-venv package" >&2
    exit 1
fi
