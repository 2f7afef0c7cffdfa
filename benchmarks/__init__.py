"""Benchmarks: commands that print figures (not timed tests). Run `./dev bench [NAME]`."""
