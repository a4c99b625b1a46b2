"""The mock RDP server: a server-side connection sequence built on ``rdpprobe.wire``, with fault plans."""
