#!/bin/sh
# Install enrollreview for the current user, without root, from an unpacked release tarball:
#   ./install.sh              copy the app to ~/.local/opt/enrollreview, put `enrollreview` in
#                             ~/.local/bin, and add the menu entry and icons
#   ./install.sh --uninstall  remove all of that again; the data (~/.local/share/enrollreview:
#                             the store, logs) and window settings are left in place
# PREFIX (default ~/.local) and XDG_DATA_HOME move the targets.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
prefix=${PREFIX:-$HOME/.local}
share=${XDG_DATA_HOME:-$HOME/.local/share}
dest=$prefix/opt/enrollreview
apps=$share/applications
icons=$share/icons/hicolor
sizes="16 32 48 64 128 256"

refresh() {
  command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$apps" || true
  command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t "$icons" 2>/dev/null || true
}

if [ "${1:-}" = "--uninstall" ]; then
  rm -rf "$dest"
  rm -f "$prefix/bin/enrollreview" "$apps/enrollreview.desktop" "$icons/scalable/apps/enrollreview.svg"
  for n in $sizes; do rm -f "$icons/${n}x${n}/apps/enrollreview.png"; done
  refresh
  echo "enrollreview removed. Your data is still in ${share}/enrollreview (delete it yourself if wanted)."
  exit 0
fi

[ -x "$here/enrollreview" ] || { echo "install.sh: run me from the unpacked enrollreview folder" >&2; exit 2; }
mkdir -p "$prefix/opt" "$prefix/bin" "$apps" "$icons/scalable/apps"
rm -rf "$dest.new"
cp -a "$here" "$dest.new"
rm -rf "$dest"
mv "$dest.new" "$dest"
ln -sf "$dest/enrollreview" "$prefix/bin/enrollreview"
res="$dest/_internal/resources/icons"
for n in $sizes; do
  mkdir -p "$icons/${n}x${n}/apps"
  cp "$res/enrollreview-$n.png" "$icons/${n}x${n}/apps/enrollreview.png"
done
cp "$res/enrollreview.svg" "$icons/scalable/apps/enrollreview.svg"
sed -e "s|^Exec=.*|Exec=$dest/enrollreview|" -e "s|^TryExec=.*|TryExec=$dest/enrollreview|" \
  "$here/enrollreview.desktop" > "$apps/enrollreview.desktop"
refresh
echo "enrollreview installed in $dest; start it from the menu or with: $prefix/bin/enrollreview"
"$dest/enrollreview" --self-check || { echo "install.sh: the self-check failed (see above)" >&2; exit 1; }
