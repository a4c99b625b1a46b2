"""The only code that touches sockets, ``ssl`` and event loops."""
