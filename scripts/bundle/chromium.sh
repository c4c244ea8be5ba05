#!/bin/sh
# The bundle's headless Chromium, with the bundle's libraries first on its library path. Whatever
# the caller put there stays after them: the GPU check adds the folder of the host driver's Vulkan
# library where it is not on the system's own path. exec, so that the process the server starts
# and stops is the browser itself.
bundle=$(dirname "$(readlink -f "$0")")/..
LD_LIBRARY_PATH="$bundle/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export LD_LIBRARY_PATH
exec "$bundle/chromium/chromium-headless-shell" "$@"
