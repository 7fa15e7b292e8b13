#!/usr/bin/env bash
# CI job "package": the Debian package from the release build (cmake/install.cmake), installed
# on this machine, checked the way a user would, and removed again (also on failure).
# Refuses to run when a pathtrace package is already installed: it is not ours to replace.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "package: needs root (dpkg -i); skipped"; exit 0; }
if dpkg-query -W -f='${Status}' pathtrace 2>/dev/null | grep -q "install ok installed"; then
  echo "package: a pathtrace package is already installed here ($(dpkg-query -W -f='${Version}' pathtrace)); not replacing it" >&2
  exit 1
fi
rm -f build-release/pathtrace_*.deb
(cd build-release && cpack -G DEB)
deb=$(ls build-release/pathtrace_*.deb)
echo "package: $deb"
dpkg-deb --field "$deb"
trap 'dpkg -r pathtrace >/dev/null || echo "package: dpkg -r pathtrace failed" >&2' EXIT
dpkg -i "$deb"

fail() { echo "package: FAIL: $*" >&2; exit 1; }
version=$(sed -n 's/^project(pathtrace VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
got=$(pathtrace --version)
echo "package: pathtrace --version: $got"
[ "$(command -v pathtrace)" = /usr/bin/pathtrace ] || fail "pathtrace is $(command -v pathtrace), not /usr/bin/pathtrace"
[[ $got == *"$version"* ]] || fail "--version does not say $version"
man=$(man -w pathtrace) || fail "man -w pathtrace finds no page"
echo "package: man page $man"
[[ $man == /usr/share/man/man1/pathtrace.1* ]] || fail "man page at $man"
man -l "$man" 2>/dev/null | grep -q "pathtrace" || fail "man page does not render"
comp=/usr/share/bash-completion/completions/pathtrace
[ -s "$comp" ] || fail "no bash completion at $comp"
bash -c "source $comp && complete -p pathtrace" || fail "$comp does not register a completion"
[ -s /usr/share/zsh/vendor-completions/_pathtrace ] || fail "no zsh completion"
ldd /usr/bin/pathtrace
! ldd /usr/bin/pathtrace | grep -qi toml || fail "the binary needs libtomlplusplus (toml++ must be header-only)"
! ldd /usr/bin/pathtrace | grep -q "not found" || fail "a shared library is missing"
depends=$(dpkg-query -W -f='${Depends}' pathtrace)
echo "package: Depends: $depends"
for lib in libc6 libpcap0.8 libsqlite3-0 libstdc++6; do
  [[ $depends == *"$lib"* ]] || fail "Depends lacks $lib (dpkg-shlibdeps)"
done
echo "package: ok"
