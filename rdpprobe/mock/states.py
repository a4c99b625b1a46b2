"""The acceptor's states, named after what the server waits for ([MS-RDPBCGR] 1.3.1.1)."""

from __future__ import annotations

import enum


class State(enum.Enum):
    """What the server waits for next."""

    WAIT_CONNECTION_REQUEST = "wait_connection_request"
    WAIT_CLIENT_HELLO = "wait_client_hello"  # Only under a tls_abort fault.
    TLS_HANDSHAKE = "tls_handshake"
    WAIT_TS_REQUEST = "wait_ts_request"
    WAIT_CONNECT_INITIAL = "wait_connect_initial"
    WAIT_DOMAIN_PDUS = "wait_domain_pdus"  # Erect Domain, Attach User, Channel Joins.
    WAIT_SECURITY_EXCHANGE = "wait_security_exchange"
    WAIT_CLIENT_INFO = "wait_client_info"
    WAIT_CONFIRM_ACTIVE = "wait_confirm_active"
    WAIT_FINALIZATION = "wait_finalization"
    ACTIVE = "active"
    SILENT = "silent"  # A blackhole fault: read everything, answer nothing.
    CLOSED = "closed"
