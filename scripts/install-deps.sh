#!/usr/bin/env bash
# Installs the Debian 12 packages cordon needs to build, test and run its demo.
# Idempotent: packages already present are left alone; safe to run on every build.
set -euo pipefail

packages=(
  build-essential cmake ninja-build git pkg-config
  g++-12 clang-14 lld-14 libclang-rt-14-dev libclang-rt-14-dev-wasm32 wasi-libc
  libboost-dev librange-v3-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  wabt
  libsodium-dev nlohmann-json3-dev libcli11-dev libseccomp-dev
  bubblewrap  # only the process backend's spawn benchmark runs it, as the reference sandbox
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
