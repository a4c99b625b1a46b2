"""The client connection sequence as a sans-IO state machine (MS-RDPBCGR 1.3.1.1)."""
