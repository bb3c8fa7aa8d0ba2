# Sourced by setup steps: install Debian packages only when missing (keeps re-runs fast).
apt_install() {
  local missing=()
  for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p"); done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "apt-get install ${missing[*]}"
    apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# `retry3 WHAT COMMAND...`: up to three tries of a download-and-build step (registries and mirrors
# fail now and then), output hidden; fails naming WHAT.
retry3() {
  local what="$1"
  shift
  for attempt in 1 2 3; do
    if "$@" >/dev/null; then return 0; fi
    echo "$what failed (attempt $attempt); retrying" >&2
    sleep $((attempt * 5))
  done
  echo "$what failed three times" >&2
  return 1
}
