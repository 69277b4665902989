#!/bin/sh
# Regenerates the IPADIC sources shipped in this directory from Debian's
# mecab-ipadic package. Needs apt-get (download only, nothing is installed),
# dpkg-deb, iconv and zstd. The build never runs this: the outputs are
# committed, and search-index/build.rs compiles them with vibrato.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
apt-get download mecab-ipadic
dpkg-deb -x mecab-ipadic_*.deb root
src=root/usr/share/mecab/dic/ipadic
# All lexicon files, EUC-JP -> UTF-8, in a stable order, one stream.
LC_ALL=C ls "$src"/*.csv | LC_ALL=C sort | while read -r f; do iconv -f EUC-JP -t UTF-8 "$f"; done \
  | zstd -19 -q -o "$here/lex.csv.zst" -f
iconv -f EUC-JP -t UTF-8 "$src/matrix.def" | zstd -19 -q -o "$here/matrix.def.zst" -f
iconv -f EUC-JP -t UTF-8 "$src/char.def" > "$here/char.def"
iconv -f EUC-JP -t UTF-8 "$src/unk.def" > "$here/unk.def"
cp root/usr/share/doc/mecab-ipadic/copyright "$here/COPYING.ipadic"
dpkg-deb -f mecab-ipadic_*.deb Package Version > "$here/VERSION"
echo "IPADIC sources refreshed in $here"
