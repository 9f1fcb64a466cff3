#!/usr/bin/env python3
"""interop-imap.py greeting PORT | interop-imap.py session PORT

Tiny plain-TCP IMAP client for the harness (no TLS, no imaplib: the point is to show the
server's exact bytes).

  greeting PORT   connect to 127.0.0.1:PORT, read one line; exit 0 if it is "* OK ...",
                  printing it. Used by the up-scripts to wait until the server answers.
  session PORT    log in as $IMAP_USER with the password in $IMAP_PASS (never an argument, so
                  it is not in `ps`), send CAPABILITY, NAMESPACE, LIST "" "*" RETURN
                  (SPECIAL-USE), plain LIST "" "*", LOGOUT, and print the exchange
                  (S: server, C: client; the password is shown as ***). Exit 0 if the
                  LOGIN was answered OK.
"""
import os
import socket
import sys


def greeting(port):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=2)
        s.settimeout(5)
        line = s.makefile("rb").readline()
    except OSError as e:
        print(f"no greeting: {e}", file=sys.stderr)
        return 1
    finally:
        try:
            s.close()
        except Exception:
            pass
    text = line.decode("utf-8", "replace").rstrip("\r\n")
    if line.startswith(b"* OK"):
        print(text)
        return 0
    print(f"unexpected greeting: {text!r}", file=sys.stderr)
    return 1


def quote(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Session:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.f = self.s.makefile("rb")
        self.n = 0

    def line(self):
        raw = self.f.readline()
        if not raw:
            raise EOFError("server closed the connection")
        text = raw.decode("utf-8", "replace").rstrip("\r\n")
        # A literal {n} at the end of a line: read and show it too.
        if text.endswith("}") and "{" in text:
            try:
                n = int(text[text.rindex("{") + 1 : -1].rstrip("+"))
                text += self.f.read(n).decode("utf-8", "replace") + self.line()
            except ValueError:
                pass
        return text

    def cmd(self, command, shown=None):
        self.n += 1
        tag = f"a{self.n}"
        print(f"C: {tag} {shown or command}")
        self.s.sendall(f"{tag} {command}\r\n".encode())
        while True:
            text = self.line()
            print(f"S: {text}")
            if text.startswith(tag + " "):
                return text[len(tag) + 1 :]


def session(port):
    user = os.environ.get("IMAP_USER", "anna")
    password = os.environ.get("IMAP_PASS")
    if password is None:
        print("IMAP_PASS is not set", file=sys.stderr)
        return 2
    ses = Session(port)
    print(f"S: {ses.line()}")
    ses.cmd("CAPABILITY")
    status = ses.cmd(f"LOGIN {quote(user)} {quote(password)}", f"LOGIN {quote(user)} ***")
    if not status.startswith("OK"):
        return 1
    ses.cmd("CAPABILITY")
    ses.cmd("NAMESPACE")
    ses.cmd('LIST "" "*" RETURN (SPECIAL-USE)')
    ses.cmd('LIST "" "*"')
    ses.cmd("LOGOUT")
    return 0


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("greeting", "session"):
        print(__doc__, file=sys.stderr)
        return 2
    port = int(sys.argv[2])
    return greeting(port) if sys.argv[1] == "greeting" else session(port)


if __name__ == "__main__":
    sys.exit(main())
