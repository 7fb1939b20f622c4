"""What model code may touch: a model worker confines itself with Linux Landlock before it
loads anything a user uploaded.

Once confined, the worker (and anything it starts) may read the Python installation, the
system's libraries and the few files under ``/etc`` they need, read the packages the server
links into its folder, and write only its scratch folder. It cannot open the server's home
(the SQLite file, the artifact store, the cache of other packages), the user's home
(``~/.aws``, ``~/.pgpass``), nor any other file; it cannot make or accept a TCP connection;
it cannot read another process's memory or environment (``/proc/PID/environ``), nor signal a
process outside its sandbox. Landlock is unprivileged and binds root too.

Written with ``ctypes`` against the kernel's documented interface
(https://docs.kernel.org/userspace-api/landlock.html): the one library on PyPI covers files
only (no network or scope rules) and is an alpha.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Iterable
from pathlib import Path

CREATE_RULESET, ADD_RULE, RESTRICT_SELF = 444, 445, 446  # the same on every architecture
VERSION = 1  # landlock_create_ruleset flag: ask for the ABI version
RULE_PATH_BENEATH = 1
PR_SET_NO_NEW_PRIVS = 38
PR_SET_DUMPABLE = 4
PR_CAPBSET_DROP = 24
PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
CAPABILITY_VERSION_3 = 0x20080522

EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV
READ = EXECUTE | READ_FILE | READ_DIR
NET_TCP = 1 | 2  # bind, connect
SCOPE_ALL = 1 | 2  # abstract UNIX sockets, signals

# What the interpreter and common native libraries read under /etc.
ETC = (
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/localtime",
    "/etc/timezone",
    "/etc/nsswitch.conf",
    "/etc/passwd",
    "/etc/group",
    "/etc/hosts",
    "/etc/host.conf",
    "/etc/resolv.conf",
    "/etc/ssl",
    "/etc/ca-certificates",
    "/etc/mime.types",
    "/etc/os-release",
)
SYSTEM = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/proc", "/sys")
DEVICES = ("/dev/zero", "/dev/urandom", "/dev/random", "/dev/full")


class _Ruleset(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1  # packed in the kernel's header
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [(name, ctypes.c_uint32) for name in ("effective", "permitted", "inheritable")]


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def abi() -> int:
    """The kernel's Landlock ABI version; 0 where there is none (not Linux, too old, off)."""
    if not sys.platform.startswith("linux"):
        return 0
    found = _libc().syscall(CREATE_RULESET, None, ctypes.c_size_t(0), VERSION)
    return max(int(found), 0)


def _fs_rights(version: int) -> int:
    rights = (1 << 13) - 1  # ABI 1: execute … make_sym
    if version >= 2:
        rights |= REFER
    if version >= 3:
        rights |= TRUNCATE
    if version >= 5:
        rights |= IOCTL_DEV
    return rights


def confine(read: Iterable[Path], write: Iterable[Path], hidden: Iterable[Path] = ()) -> str:
    """Confine this process (and its future threads and children) to reading ``read`` and
    the system's files and writing ``write``. A system or Python folder that holds one of
    ``hidden`` (the server's home) is left out, whatever it costs the model. Call before
    any other thread starts. Returns what was achieved, for the server's log; raises
    ``OSError`` if the kernel refuses."""
    version = abi()
    if version == 0:
        return "unconfined: this kernel has no Landlock"
    libc = _libc()
    handled = _fs_rights(version)
    attr = _Ruleset(handled, NET_TCP if version >= 4 else 0, SCOPE_ALL if version >= 6 else 0)
    size = 8 if version < 4 else 16 if version < 6 else 24
    ruleset = libc.syscall(CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), 0)
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
    try:
        secret = [Path(h).resolve() for h in hidden]
        readable = [*SYSTEM, *ETC, *DEVICES, sys.prefix, sys.base_prefix, sys.exec_prefix]
        for name in [*readable, *sys.path]:
            if name and not any(_holds(Path(name), h) for h in secret):
                _allow(libc, ruleset, name, READ & handled)
        for folder in read:
            _allow(libc, ruleset, folder, READ & handled)
        for folder in write:
            _allow(libc, ruleset, folder, handled)
        _allow(libc, ruleset, "/dev/null", (READ_FILE | WRITE_FILE) & handled)
        if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
        if libc.syscall(RESTRICT_SELF, ruleset, 0) != 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
    finally:
        os.close(ruleset)
    parts = ["files", *(["network"] if version >= 4 else [])]
    parts += ["signals"] if version >= 6 else []
    return f"confined by Landlock ABI {version} ({', '.join(parts)})"


def _holds(folder: Path, inner: Path) -> bool:
    try:
        return inner.is_relative_to(folder.resolve())
    except OSError:
        return False


def _allow(libc: ctypes.CDLL, ruleset: int, path: str | Path, rights: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # not on this system
    try:
        if not os.path.isdir(path):
            rights &= FILE_RIGHTS
        rule = _PathBeneath(rights, fd)
        if libc.syscall(ADD_RULE, ruleset, RULE_PATH_BENEATH, ctypes.byref(rule), 0) != 0:
            raise OSError(ctypes.get_errno(), f"landlock_add_rule failed for {path}")
    finally:
        os.close(fd)


def drop_capabilities() -> None:
    """Give up every capability, now and across ``exec``: a worker started by root keeps
    uid 0 (so it can read the files root owns) but none of root's powers, among them
    reading any process's memory and environment (``CAP_SYS_PTRACE``)."""
    if not sys.platform.startswith("linux"):
        return
    libc = _libc()
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    for capability in range(64):  # the bounding set: what an exec could grant again
        if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0 and ctypes.get_errno() == 22:
            break  # EINVAL: past the last capability this kernel knows
    header, data = _CapHeader(CAPABILITY_VERSION_3, 0), (_CapData * 2)()
    if libc.capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capset failed")


def shield_environment() -> None:
    """Keep this process's environment and memory from other processes of its user that
    have no capability (``/proc/PID/environ``, ptrace): a model worker is one. Landlock
    alone lets a worker read its parent's ``environ`` (measured on Linux 6.18)."""
    if sys.platform.startswith("linux"):
        _libc().prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
