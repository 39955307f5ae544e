"""The staff layer: the work both front ends do (start, act, show, list, deadlines, reports).

The `centers` CLI and the web portal call this package; neither reaches into the other. It
returns data and raises :mod:`staff.errors`; printing and HTML belong to the front ends.
"""
