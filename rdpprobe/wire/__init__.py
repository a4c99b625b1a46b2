"""Pure codecs, one module per protocol layer: bytes <-> frozen dataclasses.

No I/O, no clock, no logging. Import the submodules explicitly.
"""
