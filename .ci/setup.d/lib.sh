# Sourced by setup steps: install Debian packages only when missing (keeps re-runs fast).
apt_install() {
  local missing=()
  for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p"); done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "apt-get install ${missing[*]}"
    apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends "${missing[@]}" >/dev/null
  fi
}
