"""enrollreview: review ANSI X12 834 enrollment files offline."""

__version__ = "0.1.0"
