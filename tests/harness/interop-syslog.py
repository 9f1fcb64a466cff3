#!/usr/bin/env python3
"""interop-syslog.py SOCKET LOGFILE

A minimal syslog receiver for one private test server. Cyrus and Courier log only through
syslog(3), i.e. to /dev/log; this machine (and CI) has no syslog daemon, so without this their
errors ("Permission denied", failed logins, refused names) are lost. interop-ns-init.sh binds
this socket on /dev/log inside the instance's own mount namespace, so each instance gets its
own log file and nothing outside it is touched.

Prints "ready" on stdout once the socket is bound, so the caller can wait for it.
"""
import os
import socket
import sys
import time


def main():
    path, logfile = sys.argv[1], sys.argv[2]
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    # The servers' unprivileged processes (Cyrus runs as RUN_USER) must be able to send.
    os.chmod(path, 0o666)
    print("ready", flush=True)
    with open(logfile, "ab", buffering=0) as out:
        while True:
            data = s.recv(65536)
            # "<PRI>Mon dd hh:mm:ss tag[pid]: text"; keep the message as sent, after our own
            # timestamp with milliseconds (the servers' stamp has whole seconds only).
            stamp = time.strftime("%H:%M:%S", time.localtime()) + ".%03d " % (time.time() % 1 * 1000)
            out.write(stamp.encode() + data.rstrip(b"\n\0") + b"\n")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
