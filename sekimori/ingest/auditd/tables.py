"""Value tables of the Linux audit format: record types, architectures, syscall numbers.

Record type names and meanings follow ``linux/audit.h`` and libaudit's ``lib/msg_typetab.h``;
syscall numbers the kernel's ``syscall_64.tbl`` (x86_64), ``asm-generic/unistd.h`` (aarch64) and
``syscall_32.tbl`` (i386). Only the syscalls an event's meaning depends on are listed; the rest keep
their number (an ENRICHED log names every syscall itself in ``SYSCALL=``).
"""

from __future__ import annotations

# Records that only accompany a syscall event: they never decide what the event is.
AUXILIARY = frozenset(
    {
        "SYSCALL", "EXECVE", "PATH", "CWD", "PROCTITLE", "SOCKADDR", "EOE", "BPRM_FCAPS", "MMAP",
        "FD_PAIR", "OBJ_PID", "IPC", "SOCKETCALL", "CAPSET", "MQ_OPEN", "MQ_SENDRECV", "MQ_NOTIFY",
        "MQ_GETSETATTR", "KERN_MODULE", "UNKNOWN", "URINGOP", "OPENAT2", "FANOTIFY",
    }
)  # fmt: skip

# User-space authentication / account records → activity (OCSF Authentication, 3002).
AUTH_ACTIVITIES: dict[str, str] = {
    "USER_AUTH": "authenticate",
    "USER_ACCT": "authorize",
    "USER_LOGIN": "logon",
    "USER_LOGOUT": "logoff",
    "USER_START": "session_start",
    "USER_END": "session_end",
    "USER_ERR": "error",
    "USER_CHAUTHTOK": "password_change",
    "USER_CMD": "command",
    "USER_ROLE_CHANGE": "role_change",
    "CRED_ACQ": "credential_acquire",
    "CRED_DISP": "credential_dispose",
    "CRED_REFR": "credential_refresh",
    "GRP_AUTH": "group_authenticate",
    "GRP_CHAUTHTOK": "group_password_change",
    "ADD_USER": "user_add",
    "DEL_USER": "user_delete",
    "USER_MGMT": "user_change",
    "ADD_GROUP": "group_add",
    "DEL_GROUP": "group_delete",
    "GRP_MGMT": "group_change",
    "CHUSER_ID": "user_id_change",
    "CHGRP_ID": "group_id_change",
    "LOGIN": "login_uid_set",  # kernel: the login uid (auid) of a session was set
}

# Records written by user space (libaudit's audit_log_user_message …): one record per serial, so
# their event is complete at once.
USER_PREFIXES = (
    "USER_", "CRED_", "DAEMON_", "SERVICE_", "SYSTEM_", "ANOM_LOGIN", "CRYPTO_", "ADD_", "DEL_",
    "GRP_", "CHUSER_", "CHGRP_", "USYS_", "ROLE_", "ACCT_", "RESP_", "LABEL_", "VIRT_", "TRUSTED_",
)  # fmt: skip

ARCHES: dict[str, str] = {
    "c000003e": "x86_64",
    "40000003": "i386",
    "c00000b7": "aarch64",
    "40000028": "arm",
    "c0000015": "ppc64le",
    "80000015": "ppc64",
    "80000016": "s390x",
    "c00000f3": "riscv64",
}

_X86_64 = {
    0: "read", 1: "write", 2: "open", 3: "close", 4: "stat", 5: "fstat", 9: "mmap", 10: "mprotect",
    13: "rt_sigaction", 14: "rt_sigprocmask", 23: "select", 32: "dup", 33: "dup2", 60: "exit",
    61: "wait4", 228: "clock_gettime", 231: "exit_group", 16: "ioctl", 41: "socket", 42: "connect",
    43: "accept", 44: "sendto", 46: "sendmsg",
    49: "bind", 50: "listen", 51: "getsockname", 52: "getpeername", 54: "setsockopt", 56: "clone",
    57: "fork", 58: "vfork", 59: "execve", 62: "kill", 76: "truncate", 82: "rename", 83: "mkdir",
    84: "rmdir", 85: "creat", 86: "link", 87: "unlink", 88: "symlink", 90: "chmod", 91: "fchmod",
    92: "chown", 101: "ptrace", 105: "setuid", 106: "setgid", 133: "mknod", 159: "adjtimex",
    161: "chroot", 165: "mount", 166: "umount2", 169: "reboot", 170: "sethostname",
    175: "init_module", 176: "delete_module", 227: "clock_settime", 257: "openat", 260: "fchownat",
    263: "unlinkat", 264: "renameat", 265: "linkat", 268: "fchmodat", 272: "unshare",
    288: "accept4", 305: "clock_adjtime", 308: "setns", 313: "finit_module", 316: "renameat2",
    321: "bpf", 322: "execveat",
}  # fmt: skip
_AARCH64 = {
    29: "ioctl", 33: "mknodat", 34: "mkdirat", 35: "unlinkat", 37: "linkat", 38: "renameat",
    39: "umount2", 40: "mount", 53: "fchmodat", 54: "fchownat", 56: "openat", 105: "init_module",
    106: "delete_module", 112: "clock_settime", 117: "ptrace", 129: "kill", 144: "setgid",
    146: "setuid", 171: "adjtimex", 198: "socket", 200: "bind", 201: "listen", 202: "accept",
    203: "connect", 204: "getsockname", 205: "getpeername", 206: "sendto", 211: "sendmsg",
    220: "clone", 221: "execve", 242: "accept4", 266: "clock_adjtime", 273: "finit_module",
    276: "renameat2", 280: "bpf", 281: "execveat",
}  # fmt: skip
_I386 = {
    5: "open", 10: "unlink", 11: "execve", 21: "mount", 26: "ptrace", 37: "kill", 38: "rename",
    102: "socketcall", 361: "bind", 362: "connect", 364: "accept4", 358: "execveat",
}  # fmt: skip
SYSCALLS: dict[str, dict[int, str]] = {"x86_64": _X86_64, "aarch64": _AARCH64, "i386": _I386}

EXEC_SYSCALLS = frozenset({"execve", "execveat"})
NETWORK_SYSCALLS = {"connect": "connect", "accept": "accept", "accept4": "accept"}
# auid / uid values that mean "not set" (the login uid of a daemon).
UNSET_IDS = frozenset({"4294967295", "-1", "unset", "(unset)", "?", ""})
# acct values that name no account: sshd writes "(invalid user)" for a name that does not exist.
NO_ACCOUNT = frozenset({"?", "(invalid user)", "(unknown)", "unknown", "(null)", ""})
RESULTS = {"success": "success", "yes": "success", "1": "success", "failed": "failure",
           "fail": "failure", "no": "failure", "0": "failure"}  # fmt: skip


def arch_name(arch: str | None) -> str | None:
    if arch is None:
        return None
    return ARCHES.get(arch.lower(), arch)


def syscall_name(fields: dict[str, object]) -> str | None:
    """The syscall's name: the ENRICHED ``SYSCALL=`` field, else looked up by arch and number."""
    named = fields.get("SYSCALL")
    if isinstance(named, str) and named:
        return named
    number = fields.get("syscall")
    if not isinstance(number, str):
        return None
    if not number.isdigit():
        return number  # AUOMS writes the name
    table = SYSCALLS.get(arch_name(str(fields.get("arch") or "")) or "", {})
    return table.get(int(number), number)


def is_user_space(rtype: str) -> bool:
    return rtype.startswith(USER_PREFIXES)
