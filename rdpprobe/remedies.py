"""Likely causes and fixes for each classification row, and the name tables they need.

Texts are keyed by the row key used in ``rdpprobe.classify`` (a taxonomy id such as ``T1``, or
a variant such as ``A1_dropped``); a variant without its own entry falls back to its taxonomy
id. Fixes are listed in the order to try them. Sources: reference/protocol-taxonomy.md §3-§4.
"""

from __future__ import annotations

from dataclasses import dataclass


#: Where a text names the probed port; ``classify`` puts the port in (3389 when unknown).
PORT = "{port}"


@dataclass(frozen=True, slots=True)
class Advice:
    """What probably went wrong and what to do, in order."""

    causes: tuple[str, ...]
    remediation: tuple[str, ...]


_RESTART_TERMSERVICE = (
    "restart the Remote Desktop Services service (TermService) or reboot the server"
)
CHECK_EVENT_LOGS = (
    "read the server's System and TerminalServices-* event logs around the probe time"
)
_MAX_OUTSTANDING = (
    "if scanners or brute-force attempts are hitting the port, raise MaxOutstandingConnections "
    "(REG_DWORD under HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server) and block "
    "the source"
)
_WEDGED = (
    "the RDP listener is wedged (seen after a client went to sleep mid-session; "
    "cleared by a reboot or a connection from another remote tool)"
)
_HALF_OPEN = (
    "the server hit its limit of half-open connections (MaxOutstandingConnections; event 1006)"
)
_KEY_ACL = (
    "the server cannot open its certificate's private key: Schannel event 36870 with 0x8009030D, "
    "often a broken ACL on C:\\ProgramData\\Microsoft\\Crypto\\RSA\\MachineKeys"
)
_REGENERATE_CERT = (
    "delete the certificate in certlm.msc > Remote Desktop and restart TermService so Windows "
    "creates a new self-signed one, or bind a valid certificate (SSLCertificateSHA1Hash)"
)
_FIX_KEY_ACL = (
    "give NETWORK SERVICE read access to the key in MachineKeys (or reset the folder's default "
    "permissions)"
)

# fmt: off
ADVICE: dict[str, Advice] = {
    "D1": Advice(
        ("the name is misspelt or has no A/AAAA record",
         "split-horizon or VPN DNS is not applied on this client"),
        ("check the spelling and the DNS record",
         "connect by FQDN or IP address",
         "check the client's resolver and VPN DNS settings"),
    ),
    "T1": Advice(
        ("the Remote Desktop Services service (TermService) is stopped",
         "Remote Desktop is disabled, so no listener is bound",
         "RDP listens on another port (PortNumber)",
         "a firewall rejects the port",
         "a NAT rule points at a host without RDP"),
        ("start Remote Desktop Services and set it to Automatic",
         "enable Remote Desktop in the system settings",
         "check the port: netstat -ano | findstr {port} on the server",
         "allow TCP {port} inbound"),
    ),
    "T2": Advice(
        ("the host is off, asleep or hibernating (Windows client VMs sleep by default)",
         "a firewall drops TCP {port} silently (Windows Firewall, cloud NSG)",
         "wrong IP address, routing or VPN problem"),
        ("wake the host and set a power plan without sleep or hibernate (powercfg)",
         "allow TCP (and UDP) {port} inbound on the host firewall, NSG and router",
         "check the address and the route"),
    ),
    "T3": Advice(
        ("a router ACL rejects the traffic",
         "the host is down on the local network (no ARP reply)",
         "no route or VPN"),
        ("check that the host is up",
         "fix the route or the ACL"),
    ),
    "X1": Advice(
        (_WEDGED,
         _HALF_OPEN,
         "Remote Desktop Services is shutting down",
         "a filter driver or IPS closes the connection",
         "the port is forwarded to a service that closes it"),
        (_RESTART_TERMSERVICE,
         "sign in at the console or through another remote tool once",
         _MAX_OUTSTANDING,
         CHECK_EVENT_LOGS),
    ),
    "X2": Advice(
        ("the server hit its limit of half-open connections (MaxOutstandingConnections; event "
         "1006); an immediate reset is the reported pattern",
         _WEDGED,
         "a security appliance injects resets",
         "the RDP service crashed"),
        (_RESTART_TERMSERVICE,
         _MAX_OUTSTANDING,
         "check firewalls and IPS on the path for injected resets",
         CHECK_EVENT_LOGS),
    ),
    "X3": Advice(
        ("TermService is hung: the kernel accepts connections but nothing services them",
         "the host is overloaded",
         "a middlebox drops data after the TCP handshake (MTU problem)"),
        (_RESTART_TERMSERVICE,
         "check CPU and memory on the server",
         "test the path MTU with don't-fragment pings; bypass the VPN"),
    ),
    "X4": Advice(
        ("wrong port",
         "the port is forwarded to the wrong host or service",
         "an RD Gateway (443) was addressed as an RDP host"),
        ("point the client at the RDP port of the right host",
         "use an RD Gateway through the client's gateway setting"),
    ),
    "X5": Advice(
        ("a pre-Vista server (XP/2003) or a minimal RDP server without negotiation",),
        ("upgrade the server; Standard RDP Security cannot authenticate the server",),
    ),
    "N1": Advice(
        ("the server's security layer is SSL (SecurityLayer=2): it requires TLS",),
        ("offer TLS; the Microsoft client does this by default",),
    ),
    "N2": Advice(
        ("the server's security layer is RDP (SecurityLayer=0)",),
        ("set the security layer to Negotiate or SSL and require NLA; Standard RDP Security is "
         "weak",),
    ),
    "N3": Advice(
        ("the RDP certificate is missing or unusable",
         "creating the self-signed certificate failed (events 1057/1058)",
         "the configured thumbprint (SSLCertificateSHA1Hash) points at a deleted certificate",
         _KEY_ACL),
        (_REGENERATE_CERT,
         _FIX_KEY_ACL),
    ),
    "N4": Advice(
        ("a client bug: the Direct Approach was mixed with negotiation, or the request was sent"
         " twice",),
        ("report it: rdpprobe should never send inconsistent flags",),
    ),
    "N5": Advice(
        ("Network Level Authentication is required (UserAuthentication=1) and the client did "
         "not offer CredSSP (old client, or enablecredsspsupport:i:0 in the .rdp file)",),
        ("enable CredSSP/NLA on the client",
         "or, less secure, turn off 'Require NLA' on the server"),
    ),
    "N6": Advice(
        ("the server requires TLS with a client certificate",),
        ("provide a client certificate or change the server's security layer",),
    ),
    "N*": Advice(
        ("a server that uses a negotiation failure code outside [MS-RDPBCGR] 2.2.1.2.2",),
        ("check the server's security layer and NLA settings",),
    ),
    "S1": Advice(
        ("no common TLS version or cipher: an old server with TLS 1.0 only (Windows 7 / 2008 R2"
         " without updates) against a client that requires TLS 1.2",
         "TLS 1.0/1.1 disabled on the server and an old client",
         "FIPS policy"),
        ("enable TLS 1.2 on the server (Schannel Protocols\\TLS 1.2\\Server) and install updates",
         "to confirm, retry the probe allowing TLS 1.0 and weak ciphers"),
    ),
    "S2": Advice(
        (_KEY_ACL,
         "the RDP certificate is corrupt or expired",
         "TLS is disabled in Schannel",
         "a third-party cryptographic provider interferes"),
        (_FIX_KEY_ACL,
         _REGENERATE_CERT,
         "check Schannel events 36870/36871 in the System log"),
    ),
    "S2_silent": Advice(
        ("the server's TLS stack is hung",
         "a middlebox drops the TLS traffic"),
        (_RESTART_TERMSERVICE,
         "check Schannel events in the System log"),
    ),
    "S3": Advice(
        ("the default self-signed certificate is used, or the client connects by IP or short "
         "name",
         "the machine was renamed and the certificate was not renewed",
         "the internal CA's root is not on the client"),
        ("deploy a CA-issued certificate whose SAN matches the name clients use (GPO "
         "certificate template or SSLCertificateSHA1Hash)",
         "distribute the root certificate",
         "connect by the name in the certificate"),
    ),
    "S3_withheld": Advice(
        ("the server does not require NLA (CredSSP), so it never proved it holds its "
         "certificate's key",
         "the certificate is self-signed, from a CA not in the trust store, or not issued for "
         "the name probed",
         "Standard RDP Security: the server is not authenticated at all",
         "someone in the path rewrote the Connection Confirm to select a weaker protocol (a "
         "downgrade)"),
        ("require NLA on the server (SecurityLayer=2, UserAuthentication=1)",
         "deploy a certificate from a CA the clients trust whose SAN names the host, or pass "
         "the issuing CA with --ca-file",
         "probe by the name in the certificate (or --expected-name)",
         "only where the path is trusted: --send-password-to-unverified-server"),
    ),
    "C1": Advice(
        ("NTLM is blocked by policy (Restrict NTLM)",
         "the CredSSP package on the server is broken",
         "the server did not accept the client's TSRequest"),
        ("check the server's NTLM restrictions and try Kerberos",
         CHECK_EVENT_LOGS),
    ),
    "C2": Advice(
        ("wrong password, or a locked, disabled or expired account",
         "the password must be changed",
         "logon hours or workstation restrictions",
         "a local account with a blank password"),
        ("fix the account or the password",
         "NLA cannot change an expired password: change it elsewhere first"),
    ),
    "C3": Advice(
        ("older servers (CredSSP v2: Windows 7, 2008 R2, 8, 2012) cannot send an error code, so"
         " a logon failure ends in a TLS internal_error alert",
         "a client-side NTLM sealing or sequence bug"),
        ("check the user name, domain and password",
         "check the account's state on the server or domain controller"),
    ),
    "C3_closed": Advice(
        ("wrong user name, domain or password: the server closed the connection after NTLM "
         "AUTHENTICATE instead of sending an error code",
         "a locked, disabled or expired account (such servers send no reason)"),
        ("check the user name, domain and password",
         "check the account's state on the server or domain controller"),
    ),
    "C4": Advice(
        ("one side lacks the 2018 CredSSP updates (CVE-2018-0886, KB4093492)",
         "AllowEncryptionOracle=0 ('Force Updated Clients') on one side"),
        ("install current updates on both client and server",
         "only as a stop-gap, set AllowEncryptionOracle=2 on the client"),
    ),
    "C5": Advice(
        ("a TLS-inspecting appliance sits on the path (possible man-in-the-middle)",),
        ("exempt RDP from TLS inspection",
         "investigate the network path"),
    ),
    "C6": Advice(
        ("the user is not in Remote Desktop Users",
         "the user lacks 'Allow log on through Remote Desktop Services' or has 'Deny log on "
         "through Remote Desktop Services'"),
        ("add the user to Remote Desktop Users or grant the right by policy",),
    ),
    "M1": Advice(
        ("the server rejected the client's GCC data (e.g. serverSelectedProtocol differs from "
         "the negotiated one)",
         "domain parameters could not be merged",
         "the server could not build its response (Set Error Info 0x10D2)"),
        ("report it with a trace: this usually means a client encoding bug",
         CHECK_EVENT_LOGS),
    ),
    "M2": Advice(
        ("a proxy or attacker changed the security negotiation on the path",),
        ("investigate the network path; do not connect until explained",),
    ),
    "M2_possible": Advice(
        ("a proxy or attacker rewrote the Connection Confirm to select a weaker protocol",
         "a load balancer spreads the connections over servers configured differently"),
        ("require NLA on every server behind the name, and investigate the network path",
         "never send a password on such a connection (rdpprobe withholds it)"),
    ),
    "M3": Advice(
        ("the client joined a channel the server did not offer",
         "server resource limits (too many users or channels)"),
        ("join only the user, I/O and listed channels",
         CHECK_EVENT_LOGS),
    ),
    "R1": Advice(
        ("the Terminal Services certificate in the registry is corrupt",
         "a non-standard server"),
        ("delete Certificate, X509 Certificate and X509 Certificate ID under "
         "HKLM\\SYSTEM\\CurrentControlSet\\Services\\TermService\\Parameters and reboot",),
    ),
    "L1": Advice(
        ("the RD Session Host licensing grace period has expired",
         "no license server is configured or reachable",
         "the licensing mode does not match the CALs",
         "no CALs are left",
         "the client's license store is corrupt"),
        ("configure RD Licensing (mode and server) and install CALs",
         "on the client, delete HKLM\\SOFTWARE\\Microsoft\\MSLicensing and retry as administrator"),
    ),
    "E1": Advice(
        ("the server ended the connection and gave a reason (see the summary)",),
        ("act on the reason given",),
    ),
    "E2": Advice(
        ("an administrator or the user disconnected the session",
         "the server did not send a reason (e.g. Windows 2008 R2 on logoff)"),
        ("check the server's TerminalServices-LocalSessionManager log",),
    ),
    "E3": Advice(
        ("an RD Connection Broker or load balancer sends clients to another host",),
        ("connect through the broker, or probe the target address from the redirection facts",),
    ),
    "A1": Advice(
        ("logon processing is stuck (group policy, profile service, hung Winlogon)",
         "the session host is overloaded"),
        ("read the server's System and TerminalServices-* event logs around the probe time "
         "(TerminalServices-LocalSessionManager)",
         _RESTART_TERMSERVICE),
    ),
    "A1_dropped": Advice(
        ("the server rejected the logon information without sending a reason",
         "a service crashed during logon"),
        (CHECK_EVENT_LOGS,
         _RESTART_TERMSERVICE),
    ),
    "DECODE": Advice(
        ("the server sent a malformed or unexpected PDU",
         "a client decoding bug"),
        ("report it with a trace",),
    ),
    "FLOOD": Advice(
        ("a hostile or broken server streams PDUs before the session is activated",
         "something other than an RDP server relays or injects traffic on this port"),
        ("capture the connection and report it; a real RDP server sends a handful of PDUs "
         "before the Demand Active",),
    ),
    "N_selected_rdp": Advice(
        ("the server's security layer is RDP (SecurityLayer=0)",),
        ("set the security layer to Negotiate or SSL and require NLA",),
    ),
    "N_selected_unrequested": Advice(
        ("a server bug, or a middlebox that rewrites the negotiation",),
        ("report it to the server's vendor with a trace", "investigate the network path"),
    ),
    "OK": Advice((), ()),
    "INTERNAL": Advice(
        ("a bug in rdpprobe, not a property of the server",),
        ("report the error with the debug trace",),
    ),
}
# fmt: on


def advice_for(key: str, taxonomy_id: str) -> Advice:
    """The advice for a row key, falling back to its taxonomy id."""
    return ADVICE.get(key) or ADVICE.get(taxonomy_id) or Advice((), ())


# ---- certificate findings (taxonomy S3) ----------------------------------------------------------

#: finding -> (cause, fix).
CERT_FINDING_ADVICE: dict[str, tuple[str, str]] = {
    "self_signed": (
        "the certificate is self-signed, so clients cannot verify it",
        "deploy a certificate from a CA the clients trust",
    ),
    "expired": ("the certificate has expired", "renew the certificate"),
    "not_yet_valid": (
        "the certificate is not valid yet (or a clock is wrong)",
        "check both clocks; reissue the certificate",
    ),
    "name_mismatch": (
        "the certificate does not name the host the client connects to",
        "connect by the name in the certificate, or issue one whose SAN lists every name used",
    ),
    "weak_key": (
        "the certificate's key is too short (RSA < 2048 or EC < 224 bits)",
        "issue a certificate with a 2048-bit RSA or P-256 key",
    ),
    "sha1_signature": ("the certificate is signed with SHA-1", "reissue it with SHA-256"),
    "md5_signature": ("the certificate is signed with MD5", "reissue it with SHA-256"),
    "untrusted_chain": (
        "the certificate's chain does not lead to a CA in the trust store",
        "deploy a certificate from a CA the clients trust, or distribute the issuing CA",
    ),
    "no_server_auth_eku": (
        "the certificate lacks the Server Authentication / Remote Desktop Authentication EKU",
        "issue it from a template with Server Authentication",
    ),
}
