#!/bin/sh
# Build the C reference client and responder into benchmarks/c/build/ and
# create a self-signed RSA-2048 test certificate there if it is missing.
# Needs: a C compiler, OpenSSL headers (Debian: libssl-dev) and the openssl CLI.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out="$here/build"
mkdir -p "$out"
CC=${CC:-cc}
CFLAGS=${CFLAGS:-"-O2 -Wall -Wextra"}

if ! printf '#include <openssl/ssl.h>\nint main(void){return 0;}\n' | \
     $CC -x c - -o /dev/null -lssl -lcrypto 2>/dev/null; then
	echo "build.sh: OpenSSL development files not found (Debian: apt-get install -y libssl-dev)" >&2
	exit 1
fi

$CC $CFLAGS -o "$out/rdpresponder" "$here/rdpresponder.c" -lssl -lcrypto
$CC $CFLAGS -o "$out/rdpclient" "$here/rdpclient.c" -lssl -lcrypto

if [ ! -s "$out/cert.pem" ] || [ ! -s "$out/key.pem" ]; then
	openssl req -x509 -newkey rsa:2048 -nodes -days 3650 \
		-subj "/CN=responder.rdpprobe.test" \
		-keyout "$out/key.pem" -out "$out/cert.pem" >/dev/null 2>&1
fi
echo "built: $out/rdpresponder $out/rdpclient (cert: $out/cert.pem, key: $out/key.pem)"
