# Shared by scripts/serve and scripts/test: a project-local virtualenv, (re)installed
# whenever pyproject.toml changes. Only PyPI is needed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${GATEWAY_VENV:-$ROOT/.venv}"
PYTHON_BIN="${PYTHON:-python3}"

ensure_venv() {
  local extras="$1"
  local stamp="$VENV/.installed-$extras"
  local want
  want="$(sha256sum "$ROOT/pyproject.toml" | cut -d' ' -f1)"
  if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON_BIN" -m venv "$VENV"
  fi
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
    if [ "$extras" = "dev" ]; then
      "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$ROOT[dev]"
    else
      "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$ROOT"
    fi
    echo "$want" > "$stamp"
  fi
}
