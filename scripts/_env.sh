# Sourced by scripts/lessons and scripts/test (not run directly).
# Makes sure a virtual environment ($KMSSIM_VENV, default .venv in the repository) exists and holds
# everything in requirements.txt plus kmssim itself (editable), at the exact versions in
# constraints.txt, then puts it first on PATH so Jupyter kernels use it too. Re-installs only when
# requirements.txt, constraints.txt or pyproject.toml change (kmssim is installed editable, so
# code changes need no re-install).

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${KMSSIM_VENV:-$REPO/.venv}"
PYTHON="${PYTHON:-python3}"

kmssim_ensure_env() {
    cd "$REPO"
    if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        echo "kmssim needs Python 3.11 or newer; '$PYTHON' is not (set PYTHON=/path/to/python3.11)." >&2
        exit 1
    fi
    if [ ! -x "$VENV/bin/python" ]; then
        echo "Creating a virtual environment in $VENV ..."
        if ! "$PYTHON" -m venv "$VENV"; then
            rm -rf "$VENV"
            echo "Could not create a virtual environment (Debian/Ubuntu: apt-get install python3-venv)." >&2
            exit 1
        fi
    fi
    local stamp="$VENV/.kmssim-installed" want
    want="$("$VENV/bin/python" -c 'import hashlib, sys
h = hashlib.sha256()
for name in sys.argv[1:]:
    h.update(open(name, "rb").read())
print(h.hexdigest())' requirements.txt constraints.txt pyproject.toml)"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        echo "Installing requirements into $VENV (the first time takes a minute or two) ..."
        # requirements.txt holds lower bounds only; constraints.txt pins what CI tests.
        "$VENV/bin/python" -m pip install --disable-pip-version-check --quiet \
            -r requirements.txt -c constraints.txt -e "$REPO"
        echo "$want" > "$stamp"
    fi
    export VIRTUAL_ENV="$VENV"
    export PATH="$VENV/bin:$PATH"
}
