#!/usr/bin/env bash
# Fills the bundle's lib/ with the shared libraries its programs need that a bare glibc system
# lacks, from Debian's packages, never installed into /:
#   scripts/bundle/shared-libraries.sh BARE_ROOT DEBS_DIR BUNDLE_DIR
# Every ELF file of BUNDLE_DIR (Chromium, Node, sharp's binaries) is run through ldd inside
# BARE_ROOT (a debootstrap minbase root), with the downloaded packages, each unpacked in a folder
# of its own, on the library path. A library ldd finds in the root itself is the bare system's; one
# it finds in a package puts that package's libraries into lib/: all those of its library folder
# (some are opened by name at run time, as NSS opens its modules) and any private one it found in a
# folder of its own. The Vulkan loader and jemalloc are opened or preloaded, never linked, so they
# go in by name. Then ldd runs again on everything, with lib/ alone on the path, and nothing may be
# missing.
set -euo pipefail
root=$(readlink -f "$1")
debs=$(readlink -f "$2")
bundle=$(readlink -f "$3")
always=(libvulkan1 libjemalloc2)
arch_dir=x86_64-linux-gnu

packages="$bundle.packages"
rm -rf "$packages"
mkdir -p "$packages" "$bundle/lib" "$bundle/licenses"
# A package the bare root has is the root's to provide, even where apt would upgrade it: its
# libraries beside the root's dynamic loader are the system the bundle meets.
declare -A in_root=()
while read -r name; do in_root[$name]=1; done < <(dpkg-query --admindir="$root/var/lib/dpkg" -W -f '${Package}\n')
declare -A deb_of=()
for deb in "$debs"/*.deb; do
  name=$(dpkg-deb -f "$deb" Package)
  [ -z "${in_root[$name]:-}" ] || continue
  deb_of[$name]=$deb
  dpkg-deb -x "$deb" "$packages/$name"
done

# ELF files under a folder, by their first four bytes.
elf_files() {
  find "$1" -type f \( -perm -u+x -o -name '*.so' -o -name '*.so.*' -o -name '*.node' \) -print0 |
    while IFS= read -r -d '' f; do
      [ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ] && printf '%s\n' "${f#"$1"/}"
    done
}

# Run inside the bare root: ldd of each file named, one line per library:
# "path or 'not found'<TAB>soname<TAB>the file that needs it".
LDD_EACH='
for f in "$@"; do
  ldd "/mnt/bundle/$f" 2>/dev/null | while read -r soname arrow path _; do
    [ "$arrow" = "=>" ] || continue
    [ "$path" = not ] && path="not found"
    printf "%s\t%s\t%s\n" "$path" "$soname" "$f"
  done
done'

# In a mount namespace of its own, so that the bind mounts end with it.
ldd_in_root() {
  local library_path=$1
  shift
  mkdir -p "$root/mnt/bundle" "$root/mnt/packages"
  unshare --mount --propagation private -- /bin/sh -c 'set -e
    root=$1 bundle=$2 packages=$3 library_path=$4 script=$5
    shift 5
    mount --bind -o ro "$bundle" "$root/mnt/bundle"
    mount --bind -o ro "$packages" "$root/mnt/packages"
    exec chroot "$root" /usr/bin/env -i PATH=/usr/bin:/bin LD_LIBRARY_PATH="$library_path" /bin/sh -c "$script" sh "$@"' \
    sh "$root" "$bundle" "$packages" "$library_path" "$LDD_EACH" "$@"
}

mapfile -t files < <(elf_files "$bundle")
# Every folder of the packages that holds a library: some libraries find their own private ones
# through a RUNPATH naming a system folder (libpulse's pulseaudio/), which the bare root lacks.
package_path=$(find "$packages" -name '*.so*' \( -type f -o -type l \) -printf '%h\n' | sort -u | sed "s|^$packages|/mnt/packages|" | paste -sd:)
own_path=/mnt/bundle/lib:/mnt/bundle/chromium

declare -A needed=() private=() copied=()
for name in "${always[@]}"; do needed[$name]=1; done

copy_package() {
  local name=$1 dir f
  for dir in "$packages/$name/usr/lib/$arch_dir" "$packages/$name/lib/$arch_dir"; do
    [ -d "$dir" ] && find "$dir" -maxdepth 1 \( -type f -o -type l \) -exec cp -a -t "$bundle/lib" {} +
  done
  for f in "${!private[@]}"; do
    case "$f" in "$packages/$name/"*) cp -L "$f" "$bundle/lib/" ;; esac
  done
  dpkg-deb -W --showformat='${Package} ${Version}\n' "${deb_of[$name]}" >>"$bundle/lib/PACKAGES"
  cp "$packages/$name/usr/share/doc/$name/copyright" "$bundle/licenses/$name.copyright" 2>/dev/null || true
  copied[$name]=1
}

# Until nothing new is needed: the libraries copied in are themselves looked at on the next round
# (NSS's modules, opened at run time, need SQLite).
while :; do
  mapfile -t files < <(elf_files "$bundle")
  missing=()
  while IFS=$'\t' read -r path soname file; do
    case "$path" in
      "not found") missing+=("$soname (needed by $file)") ;;
      /mnt/packages/*)
        name=${path#/mnt/packages/}
        needed[${name%%/*}]=1
        case "$path" in */"$arch_dir/$soname") ;; *) private[$packages/${path#/mnt/packages/}]=1 ;; esac
        ;;
    esac
  done < <(ldd_in_root "$own_path:$package_path" "${files[@]}")
  if [ "${#missing[@]}" -gt 0 ]; then
    printf 'not in the bare root nor in any downloaded package: %s\n' "${missing[@]}" | sort -u >&2
    exit 1
  fi
  new=0
  for name in $(printf '%s\n' "${!needed[@]}" | sort); do
    [ -n "${copied[$name]:-}" ] && continue
    copy_package "$name"
    new=$((new + 1))
  done
  [ "$new" -gt 0 ] || break
done
sort -o "$bundle/lib/PACKAGES" "$bundle/lib/PACKAGES"

# The proof: every ELF file of the bundle, lib/ included, with only the bundle's own folders on the path.
mapfile -t files < <(elf_files "$bundle")
still_missing=$(ldd_in_root "$own_path" "${files[@]}" | awk -F'\t' '$1 == "not found" { print $2 " (needed by " $3 ")" }' | sort -u)
if [ -n "$still_missing" ]; then
  printf 'missing in the bare root with lib/ on the path:\n%s\n' "$still_missing" >&2
  exit 1
fi
rm -rf "$packages"
echo "lib/: $(find "$bundle/lib" -maxdepth 1 -name '*.so*' | wc -l) files from ${#copied[@]} Debian packages ($(du -sh "$bundle/lib" | cut -f1))" >&2
