# Shared by scripts/demo and scripts/test: create .venv with Python >= 3.11 and install into it.
ensure_venv() {
  local extra="${1:-}"
  local python="${PYTHON:-python3}"
  if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "dualduty needs Python >= 3.11 (found: $("$python" --version 2>&1)). Set PYTHON=/path/to/python3.11." >&2
    exit 2
  fi
  [ -x .venv/bin/python ] || "$python" -m venv .venv
  local spec="."
  [ -n "$extra" ] && spec=".[$extra]"
  echo "==> installing dualduty${extra:+ with [$extra]} into .venv" >&2
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --editable "$spec" \
    2> >(grep -v "is ignored: it is neither" >&2)
}

# The console's browser tests drive Debian's chromium (playwright cannot download a browser here).
ensure_browser() {
  # grep without -q: with pipefail, -q exiting early would SIGPIPE fc-list and fail the test.
  if [ -x /usr/bin/chromium ] && fc-list 2>/dev/null | grep -i "wenquanyi" >/dev/null; then
    return 0
  fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "==> installing chromium and a Chinese font for the browser tests (apt-get)" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-zenhei >/dev/null
  else
    echo "note: /usr/bin/chromium missing and not root: browser tests will be skipped" >&2
  fi
}
