"""gui: start the desktop app (the default when no command is given)."""

from __future__ import annotations

import os
import sys
from typing import Any


def register(sub: Any, common: Any) -> None:
    p = sub.add_parser("gui", parents=[common], help="start the desktop app (default)")
    p.add_argument("--demo", action="store_true",
                   help="use a separate demo store and load the bundled demo files into it")
    p.set_defaults(func=cmd_gui)


NO_DISPLAY = """enrollreview: no display found, so the window cannot open here.
  - On a desktop machine, run the same command in a graphical session.
  - On a server, run it under a virtual display:  apt-get install xvfb && xvfb-run {cmd}
  - Or use the command line, which needs no display:  {cli} --help
    e.g.  {cli} import FOLDER_OF_834_FILES  then  {cli} flags"""


def _no_display_text() -> str:
    from_checkout = not getattr(sys, "frozen", False) and os.path.exists(
        os.path.join(os.path.dirname(__file__), "..", "..", "dev"))
    if from_checkout:
        return NO_DISPLAY.format(cmd="./dev demo", cli="./dev run")
    return NO_DISPLAY.format(cmd="enrollreview", cli="enrollreview")


def has_display() -> bool:
    if sys.platform != "linux":
        return True
    if os.environ.get("QT_QPA_PLATFORM", "").split(":")[0] in ("offscreen", "minimal", "vnc", "eglfs",
                                                              "linuxfb"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def cmd_gui(args: Any) -> int:
    if not has_display():
        print(_no_display_text(), file=sys.stderr)
        return 3
    from ..ui.app import run_app  # the only place the CLI touches Qt

    return run_app(db=args.db, demo=args.demo)
