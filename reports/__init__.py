"""Presentation: view models, statements (HTML), workbooks, CSV files and the GL journal file.

Everything here renders already-rounded records and returns bytes; see README.md.
"""
