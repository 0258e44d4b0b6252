#!/usr/bin/env bash
# Create .venv with Python >= 3.12 and install Amanat with pinned versions.
# Idempotent: re-runs only when pyproject.toml or constraints.txt changed.
set -euo pipefail
cd "$(dirname "$0")/.."

find_python() {
  local c root
  root=$(pyenv root 2>/dev/null || true)
  for c in python3.13 python3.12 python3 \
           ${root:+"$root"/versions/3.13*/bin/python3 "$root"/versions/3.12*/bin/python3} \
           "$HOME"/.pyenv/versions/3.1[23]*/bin/python3 /usr/local/bin/python3.1[23] /usr/bin/python3.1[23]; do
    if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys, venv; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
      command -v "$c"; return 0
    fi
  done
  return 1
}

stamp=.venv/.amanat-installed
want=$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)
if [ -x .venv/bin/python ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
if [ ! -x .venv/bin/python ]; then
  py=$(find_python) || {
    echo "amanat: Python >= 3.12 not found (PATH, pyenv). Fix: 'pyenv install 3.12' or 'sudo apt-get install python3.12 python3.12-venv', then re-run." >&2
    exit 1
  }
  echo "amanat: creating .venv with $py"
  "$py" -m venv .venv
fi
echo "amanat: installing Python packages (pinned)"
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -c constraints.txt -e '.[test]'
echo "$want" > "$stamp"
