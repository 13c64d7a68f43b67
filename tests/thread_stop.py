#!/usr/bin/env python3
"""Stops one thread of a process, the others running on, for a while: ptrace
(PTRACE_SEIZE, then PTRACE_INTERRUPT) acts on a thread, not on its whole process as
SIGSTOP does. For tests that must wedge one of fhd's lcores (its thread named COMM).

    thread_stop.py PID COMM SECONDS

Prints "stopped TID" once the thread is in ptrace-stop and "resumed TID" after
PTRACE_DETACH. Exit 0; 2 when the thread is not found or ptrace is refused (the
caller skips).
"""
import ctypes
import os
import sys
import time

PTRACE_DETACH, PTRACE_SEIZE, PTRACE_INTERRUPT = 17, 0x4206, 0x4207
WALL = 0x40000000

pid, comm, seconds = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
tid = None
for t in os.listdir("/proc/%d/task" % pid):
    try:
        with open("/proc/%d/task/%s/comm" % (pid, t)) as f:
            if f.read().strip() == comm:
                tid = int(t)
    except OSError:
        pass
if tid is None:
    print("no thread %s in pid %d" % (comm, pid))
    sys.exit(2)
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
if libc.ptrace(PTRACE_SEIZE, tid, None, None) != 0 or libc.ptrace(PTRACE_INTERRUPT, tid, None, None) != 0:
    print("ptrace refused: %s" % os.strerror(ctypes.get_errno()))
    sys.exit(2)
os.waitpid(tid, WALL)
print("stopped %d" % tid, flush=True)
time.sleep(seconds)
libc.ptrace(PTRACE_DETACH, tid, None, None)
print("resumed %d" % tid, flush=True)
