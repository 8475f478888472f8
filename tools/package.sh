#!/usr/bin/env bash
# Builds the Debian package build/vigil_<version>_amd64.deb (CPack's DEB
# generator; see packaging/CMakeLists.txt): configures and builds ./build if
# needed, then packages the built binary with the unit, config, policies and
# logrotate file. Install with: apt install ./build/vigil_*.deb
set -euo pipefail
cd "$(dirname "$0")/.."
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" >/dev/null
cmake --build build -j"$(($(nproc) > 2 ? 2 : $(nproc)))" --target vigil
(cd build && cpack -G DEB --config CPackConfig.cmake >/dev/null)
deb=$(ls -t build/vigil_*_amd64.deb | head -n 1)
echo "$deb"
