#!/usr/bin/env bash
# Installs the Debian packages Metascope needs to build and test, when missing:
# a C compiler for cgo, the X11/GL headers Fyne's desktop driver links against,
# BLIS for fast float32 kernels; with --test, Xvfb, X tools and nibabel. Safe to run repeatedly; needs root (or sudo) only when
# something is missing.
set -euo pipefail

# Usage: setup-debian.sh [--test]   (--test adds what the test suite uses)
packages=(
  gcc pkg-config
  libgl1-mesa-dev libx11-dev libxcursor-dev libxrandr-dev libxinerama-dev libxi-dev libxxf86vm-dev
  libblis-dev
)
if [ "${1:-}" = "--test" ]; then
  # A virtual X server and X tools for the real-window smoke test and its
  # screenshot; nibabel to cross-check our NIfTI files against the reference
  # reader of the field.
  packages+=(xvfb xauth x11-utils xdotool imagemagick python3-nibabel)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v go >/dev/null 2>&1; then
  if [ -x /usr/local/go/bin/go ]; then
    echo "setup: Go is at /usr/local/go/bin; add it to PATH" >&2
  else
    echo "setup: Go 1.26 or newer is required (https://go.dev/doc/install)" >&2
    exit 1
  fi
fi
