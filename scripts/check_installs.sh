#!/usr/bin/env bash
# Resolve every install line of the README with `pip install --dry-run` in a throwaway venv and
# print what each one resolved to (not part of `make test`: it needs the package index and takes
# a few minutes). This checkout is built into a wheel first, so `thinkj-verl` means this code.
#
#   bash scripts/check_installs.sh            # PYTHON=python3.11 to pick the interpreter
#
# Exit status: 0 when every line resolves, 1 otherwise (each failure is printed with pip's reason).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

"$PYTHON" -m venv "$WORK/venv"
PIP=("$WORK/venv/bin/python" -m pip --disable-pip-version-check)
"${PIP[@]}" install --quiet --upgrade pip
echo "built $(basename "$(PYTHON="$WORK/venv/bin/python" bash "$ROOT/examples/build_wheel.sh" "$WORK/wheels")")"

# The packages that decide whether a GPU environment works; the report lists all of them.
KEY='torch vllm transformers verl trl accelerate deepspeed ray flash-attn tensordict datasets'

summarize() {  # $1 report.json: one line per key package, then the total
    "$WORK/venv/bin/python" - "$1" "$KEY" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
got = {item["metadata"]["name"].lower(): item["metadata"]["version"] for item in report["install"]}
print("    " + "  ".join(f"{name}=={got[name]}" for name in sys.argv[2].split() if name in got))
print(f"    ({len(got)} packages in all)")
PY
}

failed=0
check() {  # $1 label, rest: the README's pip arguments
    local label="$1"; shift
    echo "== $label: pip install $*"
    if "${PIP[@]}" install --dry-run --quiet --ignore-installed --find-links "$WORK/wheels" \
            --report "$WORK/$label.json" "$@" >"$WORK/$label.log" 2>&1; then
        summarize "$WORK/$label.json"
    else
        echo "    FAILED to resolve:"
        grep -v '^WARNING: Location' "$WORK/$label.log" | tail -n 15 | sed 's/^/    /'
        failed=1
    fi
}

check runtime "thinkj-verl"
check gpu "thinkj-verl[gpu]"
check offline "thinkj-verl[offline]"
check gpu+offline "thinkj-verl[gpu,offline]"

# flash-attn: its maintainers publish a source distribution that is built against the torch
# already installed (`pip install flash-attn --no-build-isolation` after torch). Check that the
# version verl 0.9.1 pins exists and that no wheel on the index would make the step unnecessary.
echo "== flash-attn step: pip install flash-attn==2.8.3 --no-build-isolation (after the gpu line)"
if "${PIP[@]}" download --quiet --no-deps --only-binary=:all: --dest "$WORK/fa" flash-attn==2.8.3 \
        >"$WORK/fa.log" 2>&1; then
    echo "    a wheel exists on the index: $(ls "$WORK/fa")"
else
    echo "    no wheel on the index for this platform: built from source against the installed torch, as documented"
fi
if "${PIP[@]}" index versions flash-attn 2>/dev/null | grep -q 'Available versions:.*\b2\.8\.3\b'; then
    echo "    flash-attn 2.8.3 (verl 0.9.1's pin) is on the index"
else
    echo "    FAILED: flash-attn 2.8.3 is not on the index"; failed=1
fi
# Without torch in the build environment its metadata cannot even be computed: why the
# documented step turns build isolation off and runs after the gpu line has installed torch.
if "${PIP[@]}" install --dry-run --quiet --no-deps flash-attn==2.8.3 >"$WORK/fa.log" 2>&1; then
    echo "    resolved with build isolation (unexpected: the plain line would work too)"
else
    echo "    with build isolation: $(grep -o "No module named '[a-z]*'" "$WORK/fa.log" | head -n 1 || echo 'fails') (expected)"
fi

exit "$failed"
