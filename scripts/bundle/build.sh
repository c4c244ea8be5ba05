#!/usr/bin/env bash
# `npm run bundle`: one archive for Linux x86-64 that runs the server on a host with nothing but
# glibc: no Node, no Chromium, no network. It holds
#   node/bin/node        this machine's Node binary
#   chromium/            Debian's chromium-headless-shell, the files the headless browser reads
#   lib/                 Debian's shared libraries that Chromium, Node or sharp need and a bare
#                        Debian root lacks (shared-libraries.sh), the Vulkan loader and jemalloc
#   app/                 the built server, its production dependencies (pruned), the model store,
#                        the test images and what `run.sh gpu-check` runs
#   bin/chromium         the browser, started with lib/ on its library path
#   run.sh               starts the server from wherever the archive was unpacked
# and is written compressed with xz, split into parts of at most 40 MiB under build/bundle/out/,
# with join.sh, their checksums, and a static busybox to unpack them where xz is missing.
# Needs root (debootstrap, chroot) and apt's package lists for this machine's Debian release.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/bundle/common.sh
need_root "npm run bundle"
t0=$(date +%s)
step() { echo "[bundle $(($(date +%s) - t0)) s] $*" >&2; }

ensure_minbase
stage_root="$BUNDLE_BUILD/stage"
stage="$stage_root/$BUNDLE_NAME"
out="$BUNDLE_BUILD/out"
debs="$BUNDLE_BUILD/cache/debs"
rm -rf "$stage_root" "$out" "$debs"
mkdir -p "$stage" "$out" "$debs/partial"
# Absolute from here on: nothing below may resolve against another folder.
stage_root=$(readlink -f "$stage_root") stage=$(readlink -f "$stage") out=$(readlink -f "$out") debs=$(readlink -f "$debs")

step "building the server (npm run build)"
npm run build >/dev/null
app="$stage/app"
mkdir -p "$app/dist/scripts" "$app/browser-runtime" "$app/tests/fixtures"
cp package.json package-lock.json .npmrc "$app/"
step "production dependencies (npm ci --omit=dev)"
# No install scripts: sharp's binaries come as packages of their own, and nothing else needs one.
(cd "$app" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
rm "$app/package-lock.json" "$app/.npmrc"
sh scripts/prune-node-modules.sh "$app/node_modules"
# The GPU check drives the server with the benchmark's own load generator, a development
# dependency, so that its figures compare with BENCHMARKS.md's. It goes in alone, at the locked
# version, with its dependencies nested under it: the server's tree stays as npm ci made it.
autocannon=$(node -p 'require("./package-lock.json").packages["node_modules/autocannon"].version')
loadgen="$stage_root/autocannon"
mkdir -p "$loadgen"
# A package.json of its own, or npm would take the repository above for the project.
echo '{"private": true}' >"$loadgen/package.json"
(cd "$loadgen" && npm install --no-package-lock --no-save --ignore-scripts --no-audit --no-fund --loglevel=error "autocannon@$autocannon" >/dev/null)
sh scripts/prune-node-modules.sh "$loadgen/node_modules"
mv "$loadgen/node_modules/autocannon" "$app/node_modules/autocannon"
mkdir -p "$app/node_modules/autocannon/node_modules"
cp -an "$loadgen/node_modules/." "$app/node_modules/autocannon/node_modules/"
rm -rf "$loadgen"
cp -r dist/server dist/browser-runtime dist/public "$app/dist/"
cp -r dist/scripts/bench dist/scripts/null-model dist/scripts/bundle "$app/dist/scripts/"
find "$app/dist" -name '*.map' -delete
cp -r bin public models protos "$app/"
cp browser-runtime/index.html "$app/browser-runtime/"
cp -r tests/fixtures/images "$app/tests/fixtures/"

step "Node $(node --version) from $(node -p process.execPath)"
mkdir -p "$stage/node/bin" "$stage/licenses"
cp "$(node -p process.execPath)" "$stage/node/bin/node"
for f in /usr/share/doc/nodejs/LICENSE /usr/share/doc/nodejs/copyright; do
  [ -r "$f" ] && cp "$f" "$stage/licenses/nodejs.$(basename "$f")"
done

step "Debian packages for a bare $SUITE system (apt-get --download-only against the bare root's package list)"
# apt decides what to fetch as if installing into the bare root, so its answer is exactly what
# that root lacks. busybox-static is for unpacking on hosts without xz, and stays out of the archive.
apt-get install -y -qq --download-only --no-install-recommends \
  -o Dir::Cache::archives="$debs" -o Dir::State::status="$MINBASE/var/lib/dpkg/status" -o Debug::NoLocking=1 \
  chromium-headless-shell libvulkan1 libjemalloc2 busybox-static >/dev/null
rm -rf "$debs/partial"
tools="$stage_root/tools"
mkdir -p "$tools"
dpkg-deb -x "$debs"/busybox-static_*.deb "$tools"
cp "$tools/bin/busybox" "$out/busybox"
mv "$debs"/busybox-static_*.deb "$tools/"

# The headless browser's own folder, less what only the desktop browser, crash reporting or Vulkan
# debugging reads: validation layer, mock driver, the desktop binary and its resources.
for p in chromium-common chromium-headless-shell; do dpkg-deb -x "$debs/${p}_"*.deb "$tools/chromium"; done
mkdir -p "$stage/chromium"
for f in chromium-headless-shell headless_lib_data.pak headless_lib_strings.pak headless_command_resources.pak icudtl.dat snapshot_blob.bin \
  v8_context_snapshot.bin libEGL.so libGLESv2.so libvk_swiftshader.so vk_swiftshader_icd.json libvulkan.so.1; do
  cp -a "$tools/chromium/usr/lib/chromium/$f" "$stage/chromium/"
done
for p in chromium-common chromium-headless-shell; do cp "$tools/chromium/usr/share/doc/$p/copyright" "$stage/licenses/$p.copyright"; done

step "shared libraries: the closure of every ELF file, judged in the bare root"
bash scripts/bundle/shared-libraries.sh "$MINBASE" "$debs" "$stage"

mkdir -p "$stage/bin"
cp scripts/bundle/run.sh "$stage/run.sh"
cp scripts/bundle/chromium.sh "$stage/bin/chromium"
chmod +x "$stage/run.sh" "$stage/bin/chromium"
# The newest glibc symbol version any binary asks for: the host's glibc must be at least this.
glibc=$({ find "$stage" -type f \( -name '*.so*' -o -name '*.node' -o -perm -u+x \) -exec readelf -V --wide {} + 2>/dev/null || true; } |
  grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n1)
echo "$glibc" >"$stage/GLIBC"
{
  echo "webgpu-inference-server $(node -p 'require("./package.json").version'), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "built $(date -u +%Y-%m-%dT%H:%M:%SZ) on Debian $SUITE for Linux x86-64, glibc $glibc or newer"
  echo "Node $(node --version); $(dpkg-deb -W --showformat='${Package} ${Version}' "$debs"/chromium-headless-shell_*.deb)"
} >"$stage/VERSION"

step "sizes of the parts, unpacked"
du -sh "$stage/node" "$stage/chromium" "$stage/lib" "$stage/app/node_modules" "$stage/app/dist" "$stage/app/models" "$stage/app/tests" |
  sed "s|$stage_root/||" >&2

archive="$BUNDLE_NAME.tar.xz"
step "compressing with xz -9 (2 threads)"
tar -C "$stage_root" --owner=0 --group=0 --numeric-owner -c "$BUNDLE_NAME" | nice -n 10 xz -9 -T2 >"$out/$archive"
(cd "$out" && sha256sum "$archive" >SHA256SUMS && split -b "$PART_SIZE" -d -a 2 "$archive" "$archive.part-" && rm "$archive" && sha256sum "$archive".part-* >>SHA256SUMS)
cp scripts/bundle/join.sh "$out/join.sh"
chmod +x "$out/join.sh"

unpacked=$(du -sb "$stage" | cut -f1)
compressed=$(cat "$out/$archive".part-* | wc -c)
step "done in $out: $compressed bytes compressed ($((compressed / 1048576)) MiB; $((unpacked / 1048576)) MiB unpacked), glibc $glibc or newer"
for part in "$out/$archive".part-*; do echo "  $(basename "$part"): $(stat -c %s "$part") bytes" >&2; done
echo "  join.sh, SHA256SUMS, busybox ($(stat -c %s "$out/busybox") bytes, for hosts without xz)" >&2
