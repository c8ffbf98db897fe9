#!/usr/bin/env bash
# Prints the path of a working Python 3.13 interpreter, or explains how to get one and fails.
# pyenv shims refuse a version that is not active, so every candidate is actually run.
set -u
candidates=()
[ -n "${PYTHON313:-}" ] && candidates+=("$PYTHON313")
candidates+=(python3.13)
root=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
for d in "$root"/versions/3.13*/bin/python3.13; do [ -x "$d" ] && candidates+=("$d"); done
candidates+=(/usr/local/bin/python3.13 /usr/bin/python3.13)
for c in "${candidates[@]}"; do
  if "$c" -c 'import sys; assert sys.version_info[:2] == (3, 13)' >/dev/null 2>&1; then
    command -v "$c" 2>/dev/null || echo "$c"
    exit 0
  fi
done
echo "error: Python 3.13 not found (tried: ${candidates[*]})." >&2
echo "Install it (e.g. 'pyenv install 3.13' or your OS package) or set PYTHON313=/path/to/python3.13." >&2
exit 1
