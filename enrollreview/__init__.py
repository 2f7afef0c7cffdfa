"""enrollreview: review ANSI X12 834 enrollment files offline."""

__version__ = "0.1.0"

from . import accel as _accel  # noqa: E402

_accel.install()  # the compiled parser, when ./dev has built one for these sources
