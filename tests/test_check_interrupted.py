"""``rdpprobe check`` cut short by Ctrl-C: the ladder as far as it got, exit 130."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

#: Every wait below ends by this bound.
WAIT_BOUND_S = 30.0


def test_check_interrupted_prints_the_ladder_so_far() -> None:
    """Ctrl-C while ``check`` waits for a silent server's X.224 answer: the phases passed,
    the one it was in, no verdict, exit 130."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        listener.settimeout(WAIT_BOUND_S)
        port = listener.getsockname()[1]
        argv = [sys.executable, "-m", "rdpprobe", "check", f"127.0.0.1:{port}", "--timeout", "30", "--deadline", "60"]
        with subprocess.Popen(argv, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env={**os.environ, "COLUMNS": "100"}) as proc:  # fmt: skip
            conn, _ = listener.accept()
            with conn:
                conn.settimeout(WAIT_BOUND_S)
                assert conn.recv(4096)  # The Connection Request: the probe waits for its answer.
                proc.send_signal(signal.SIGINT)
                out, err = proc.communicate(timeout=WAIT_BOUND_S)
    assert proc.returncode == 130 and "Traceback" not in err
    ladder = {line.split()[1]: line for line in out.splitlines() if len(line.split()) > 1}
    assert ladder["tcp_connect"].startswith("✓")
    assert ladder["connection_initiation"].startswith("…") and "interrupted" in ladder["connection_initiation"]
    assert "interrupted (Ctrl-C) during connection_initiation: no verdict" in out
