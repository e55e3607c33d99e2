"""Readers at the edge of gapmap: users' registers, area layers, absences, reference tables.

Every reader collects every problem in a file before raising once
(:class:`gapmap.errors.InputError` naming the file, row and column), so a user mends a file in
one pass. Nothing here analyses: the analysis modules take what these readers return.
"""
