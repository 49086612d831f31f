#!/usr/bin/env python3
"""Runs a command under a seccomp filter that refuses io_uring_setup(2) with EPERM.

Usage: deny-io-uring.py COMMAND [ARG...]

What a container runtime's or a hardened service's seccomp profile does (Docker's default profile
has refused io_uring since 2023): the command sees io_uring_setup fail exactly as it does under
`sysctl kernel.io_uring_disabled=2`, while this machine's other processes keep io_uring. The filter
is inherited by every child and cannot be lifted (no_new_privs is set first, as the kernel requires
for an unprivileged filter).
"""

import ctypes
import os
import platform
import struct
import sys

PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_ERRNO = 0x00050000
EPERM = 1
# io_uring_setup has the same number on every architecture (the unified table from Linux 5.1 on).
NR_IO_URING_SETUP = 425
AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}

BPF_LD_W_ABS = 0x20
BPF_JMP_JEQ_K = 0x15
BPF_RET_K = 0x06


def instruction(code, jump_true, jump_false, value):
    """One struct sock_filter: u16 code, u8 jt, u8 jf, u32 k."""
    return struct.pack("=HBBI", code, jump_true, jump_false, value)


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: deny-io-uring.py COMMAND [ARG...]")
    arch = AUDIT_ARCH.get(platform.machine())
    if arch is None:
        sys.exit(f"deny-io-uring.py: no audit architecture known for {platform.machine()}")
    program = b"".join(
        [
            instruction(BPF_LD_W_ABS, 0, 0, 4),  # seccomp_data.arch
            instruction(BPF_JMP_JEQ_K, 0, 3, arch),  # another ABI: allow
            instruction(BPF_LD_W_ABS, 0, 0, 0),  # seccomp_data.nr
            instruction(BPF_JMP_JEQ_K, 0, 1, NR_IO_URING_SETUP),
            instruction(BPF_RET_K, 0, 0, SECCOMP_RET_ERRNO | EPERM),
            instruction(BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW),
        ]
    )
    filters = ctypes.create_string_buffer(program)
    # struct sock_fprog: unsigned short len, then (aligned) the pointer to the instructions.
    fprog = struct.pack("@HP", len(program) // 8, ctypes.addressof(filters))
    fprog_buffer = ctypes.create_string_buffer(fprog)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        sys.exit(f"deny-io-uring.py: PR_SET_NO_NEW_PRIVS: {os.strerror(ctypes.get_errno())}")
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(fprog_buffer), 0, 0) != 0:
        sys.exit(f"deny-io-uring.py: PR_SET_SECCOMP: {os.strerror(ctypes.get_errno())}")
    os.execvp(sys.argv[1], sys.argv[1:])


if __name__ == "__main__":
    main()
