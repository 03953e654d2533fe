#!/bin/sh
# Install Debian's chromium for the browser tests when /usr/bin/chromium is missing; a no-op otherwise.
set -eu
if [ -x /usr/bin/chromium ]; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends chromium
test -x /usr/bin/chromium
