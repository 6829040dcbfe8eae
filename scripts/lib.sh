# lib.sh — helpers the install and fetch scripts share; source it after defining log().

# apt_install installs Debian packages, retrying: a mirror sometimes misses an archive
# once. A package whose service could not be started is configured afterwards.
apt_install() {
  local attempt
  for attempt in 1 2 3; do
    if apt-get update -q && apt-get install -y -q --no-install-recommends "$@"; then
      return 0
    fi
    log "apt-get attempt $attempt of 3 failed"
    dpkg --configure -a || true
    sleep $((attempt * 2))
  done
  return 1
}

# npm_extract PACKAGE@VERSION FILE DEST: fetches the package tarball from the npm
# registry (`npm pack` checks its integrity hash; nothing of the package runs) and
# installs the one FILE inside it (a path under package/) at DEST, atomically. As root on
# Debian it installs npm first when missing.
npm_extract() {
  local spec=$1 file=$2 dest=$3 tmp attempt
  if ! command -v npm >/dev/null 2>&1 && [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    log "installing npm (Debian package) to fetch $spec"
    apt_install npm || true
  fi
  command -v npm >/dev/null 2>&1 || {
    log "npm is needed to fetch $spec; install Node.js/npm"
    return 1
  }
  tmp=$(mktemp -d)
  for attempt in 1 2 3; do
    (cd "$tmp" && npm pack --silent "$spec" >/dev/null) && break
    log "npm pack $spec: attempt $attempt of 3 failed"
    if [[ $attempt == 3 ]]; then
      rm -rf "$tmp"
      return 1
    fi
    sleep $((attempt * 2))
  done
  tar -xzf "$tmp"/*.tgz -C "$tmp" "$file" &&
    mkdir -p "$(dirname "$dest")" &&
    install -m 0644 "$tmp/$file" "$dest.partial" &&
    mv "$dest.partial" "$dest"
  local rc=$?
  rm -rf "$tmp"
  return $rc
}

# deny_service_starts stops package scripts from starting services during an install (and
# from failing where there is no init system). An existing policy-rc.d is left alone.
POLICY=/usr/sbin/policy-rc.d
deny_service_starts() {
  [[ -e $POLICY ]] && return 0
  printf '#!/bin/sh\n# temporary, from switchboard %s\nexit 101\n' "$0" >"$POLICY"
  chmod 755 "$POLICY"
  trap 'rm -f "$POLICY"' EXIT
}

# install_missing installs the Debian packages the caller's missing_packages prints, as
# root on Debian/Ubuntu (with retries, no service started); otherwise it says what to
# install and returns 0. It logs $1 when nothing is missing, $2 for what happens until
# the packages are there, and $3 once they are installed.
install_missing() {
  local present=$1 meanwhile=$2 installed=$3
  local -a missing
  mapfile -t missing < <(missing_packages)
  if ((${#missing[@]} == 0)); then
    log "$present"
    return 0
  fi
  if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    log "missing: ${missing[*]}"
    log "install on Debian/Ubuntu with: sudo apt-get install -y --no-install-recommends ${missing[*]}"
    log "($meanwhile)"
    return 0
  fi
  export DEBIAN_FRONTEND=noninteractive
  deny_service_starts
  log "installing: ${missing[*]}"
  apt_install "${missing[@]}" || log "apt-get reported errors; checking what got installed"
  mapfile -t missing < <(missing_packages)
  if ((${#missing[@]} > 0)); then
    log "still missing after 3 attempts: ${missing[*]}"
    return 1
  fi
  log "$installed"
}
