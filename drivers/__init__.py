"""Printer and POS drivers behind small interfaces, found by entry point.

This package imports nothing else of Tableside's: only the standard library and pyserial.
"""
