#!/usr/bin/env bash
# Build a wheel of this checkout (no dependencies) into DIR and print its path: what the launch
# scripts ship with a Ray job, so every node runs the code you have here.
#
#   bash examples/build_wheel.sh DIR        # PYTHON (python3): the interpreter whose pip builds it
set -euo pipefail

DEST="${1:?usage: build_wheel.sh DIR (an empty folder to write the wheel into)}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mkdir -p "$DEST"
# Built from a copy of what the wheel holds (pyproject.toml, setup.py: packages, package data, readme), so
# the checkout gets no build/ or egg-info, and no stale build/lib file can slip into the wheel.
SRC="$(mktemp -d)"
trap 'rm -rf "$SRC"' EXIT
for name in pyproject.toml setup.py README.md LICENSE thinkj_verl reward_fns recipes; do
    if [[ -e "$ROOT/$name" ]]; then cp -R "$ROOT/$name" "$SRC/"; fi
done
find "$SRC" -name __pycache__ -prune -exec rm -rf {} +
"${PYTHON:-python3}" -m pip wheel --quiet --disable-pip-version-check --no-deps --wheel-dir "$DEST" "$SRC" >&2 \
    || { echo "build_wheel.sh: could not build a wheel of $ROOT (pip output above); or set THINKJ_PIP_SPEC to a pip spec to install instead" >&2; exit 1; }
shopt -s nullglob
wheels=("$DEST"/thinkj_verl-*.whl)
[[ "${#wheels[@]}" -eq 1 ]] || { echo "build_wheel.sh: expected one thinkj_verl wheel in $DEST, found ${#wheels[@]}" >&2; exit 1; }
printf '%s\n' "${wheels[0]}"
