#!/bin/sh
# macOS: dist/nnstudio.app (from `python packaging/build.py`) -> dist/nnstudio-<version>-macos-<arch>.dmg
# with the usual "drag to Applications" window.  Signing and notarisation are maintainer steps:
#   NNSTUDIO_CODESIGN_IDENTITY="Developer ID Application: ..." python packaging/build.py
#       (PyInstaller then signs every binary and the .app with the hardened runtime)
#   NNSTUDIO_CODESIGN_IDENTITY=... NOTARY_PROFILE=<notarytool keychain profile> packaging/macos/make_dmg.sh
set -eu
cd "$(dirname "$0")/../.."
app=dist/nnstudio.app
[ -d "$app" ] || { echo "no $app: run python packaging/build.py first" >&2; exit 1; }
version=$(/usr/libexec/PlistBuddy -c "Print CFBundleShortVersionString" "$app/Contents/Info.plist")
dmg="dist/nnstudio-$version-macos-$(uname -m).dmg"

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
ditto "$app" "$stage/nnstudio.app"
ln -s /Applications "$stage/Applications"
rm -f "$dmg"
hdiutil create -volname "nnstudio $version" -srcfolder "$stage" -fs HFS+ -format UDZO -ov "$dmg"

if [ -n "${NNSTUDIO_CODESIGN_IDENTITY:-}" ]; then
    codesign --sign "$NNSTUDIO_CODESIGN_IDENTITY" --timestamp "$dmg"
fi
if [ -n "${NOTARY_PROFILE:-}" ]; then
    xcrun notarytool submit "$dmg" --keychain-profile "$NOTARY_PROFILE" --wait
    xcrun stapler staple "$dmg"
fi
echo "$dmg"
