"""What an access gives, and the ports it needs: the one table every stage reads.

Reaching a system is not owning it. Each way in gives something different:

- ``interactive``: an interactive, RDP or SSH logon (types 2, 4, 5, 7, 10-13): control of the hosts and
  the credentials cached there. Ports RDP 3389, SSH 22.
- ``network_admin``: a network logon (types 3, 8, 9) by a holder of an admin right on the system: control
  of the hosts (nothing cached). Ports SMB 445, WinRM 5985/5986, SSH 22.
- ``network``: a network logon without admin rights: a session, no control: the system's file shares
  (the same ports) and its databases that take the domain logon (the database's port).
- ``application``: using the system's application as that user: the data it serves, not its hosts.
  HTTPS 443.
- ``database``: a database credential: the data of the system's database stores. The store's engine's
  port (``SERVICE_PORTS``), or any of the engines' when the store names none.

A flow opens an access when it allows one of its ports (protocol ``tcp`` or ``any``; ``ports: any``
opens all).
"""

from __future__ import annotations

from typing import Literal

AccessKind = Literal["interactive", "network_admin", "network", "application", "database"]
ACCESS_KINDS: tuple[AccessKind, ...] = ("interactive", "network_admin", "network", "application", "database")

# The ports of each service (tcp).
SERVICE_PORTS: dict[str, tuple[int, ...]] = {
    "rdp": (3389,),
    "ssh": (22,),
    "smb": (445,),
    "winrm": (5985, 5986),
    "https": (443,),
    "mssql": (1433,),
    "postgresql": (5432,),
    "mysql": (3306,),
    "oracle": (1521,),
    "mongodb": (27017,),
    "redis": (6379,),
}
DATABASE_ENGINES = ("mssql", "postgresql", "mysql", "oracle", "mongodb", "redis")

# The services each logon access goes through.
ACCESS_SERVICES: dict[str, tuple[str, ...]] = {
    "interactive": ("rdp", "ssh"),
    "network_admin": ("smb", "winrm", "ssh"),
    "network": ("smb", "winrm", "ssh"),
    "application": ("https",),
    "database": DATABASE_ENGINES,
}

# Windows logon types by the access they are: those that leave credentials on the host are interactive.
INTERACTIVE_LOGON_TYPES = (2, 4, 5, 7, 10, 11, 12, 13)
NETWORK_LOGON_TYPES = (3, 8, 9)


def access_ports(access: str, engine: str | None = None) -> frozenset[int]:
    """The tcp ports an access needs (a database access: its engine's, or every engine's)."""
    services = (engine,) if access == "database" and engine else ACCESS_SERVICES[access]
    return frozenset(p for s in services for p in SERVICE_PORTS[s])


def gate_class(access: str, engine: str | None = None) -> str:
    """The name of the network condition an access needs: ``network_admin`` and ``network`` share
    ports, so they share one; a database access is per engine."""
    if access == "network_admin":
        return "network"
    if access == "database":
        return f"database-{engine}" if engine else "database"
    return access


GATE_CLASSES: dict[str, frozenset[int]] = {
    "interactive": access_ports("interactive"),
    "network": access_ports("network"),
    "application": access_ports("application"),
    "database": access_ports("database"),
    **{f"database-{e}": access_ports("database", e) for e in DATABASE_ENGINES},
}


def flow_opens(ports: list[int] | None, protocol: str, gate: str) -> bool:
    """Whether a flow (its ports, None for any; its protocol) lets an access of ``gate`` class through."""
    if protocol == "udp":
        return False
    return ports is None or bool(GATE_CLASSES[gate] & set(ports))


def logon_access(logon_type: int, admin: bool) -> AccessKind:
    """The access a Windows logon type is, for a holder (or not) of an admin right on the target."""
    if logon_type in INTERACTIVE_LOGON_TYPES:
        return "interactive"
    return "network_admin" if admin else "network"
