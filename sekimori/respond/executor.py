"""Who is executing a containment action: host, PID namespace and process, so that an action left
'executing' by a process that is gone can be told from one still running (:meth:`CaseStore.recover`)."""

from __future__ import annotations

import os
import socket


def executor_id() -> str:
    # The PID namespace tells apart containers that share a hostname.
    try:
        namespace = str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        namespace = ""
    return f"{socket.gethostname()}/{namespace}/{os.getpid()}"


def executor_gone(executor: str | None) -> bool:
    """Whether ``executor`` was a process on this host (and PID namespace) that no longer runs."""
    if not executor:
        return False
    host, _, rest = executor.partition("/")
    namespace, _, pid_text = rest.partition("/")
    mine_host, _, mine_rest = executor_id().partition("/")
    if host != mine_host or namespace != mine_rest.partition("/")[0] or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False  # this process: another thread may be executing it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
