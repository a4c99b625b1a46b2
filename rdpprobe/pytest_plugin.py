"""pytest plugin: the ``rdp_mock_server`` fixture (registered through the ``pytest11`` entry point)."""

from __future__ import annotations
