#!/usr/bin/env python3
"""interop-imap.py greeting PORT | session PORT | create PORT NAME... | tree PORT

Tiny plain-TCP IMAP client for the harness (no TLS, no imaplib: the point is to show the
server's exact bytes).

  greeting PORT   connect to 127.0.0.1:PORT, read one line; exit 0 if it is "* OK ...",
                  printing it. Used by the up-scripts to wait until the server answers.
  session PORT    log in as $IMAP_USER with the password in $IMAP_PASS (never an argument, so
                  it is not in `ps`), send CAPABILITY, NAMESPACE, LIST "" "*" RETURN
                  (SPECIAL-USE), plain LIST "" "*", LOGOUT, and print the exchange
                  (S: server, C: client; the password is shown as ***). Exit 0 if the
                  LOGIN was answered OK.
  create PORT NAME...
                  log in as above and CREATE each NAME (sent in modified UTF-7, RFC 3501
                  5.1.3), DELETE it again when created, and print the server's answers: what
                  a server refuses, in its own words.
  tree PORT       log in as above and print every mailbox (LIST "" "*") with its flags and
                  STATUS (MESSAGES), one per line: "<messages>\t<flags>\t<name as sent>".
"""
import base64
import re
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
        self.quiet = False
        self.lines = []

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
        if not self.quiet:
            print(f"C: {tag} {shown or command}")
        self.s.sendall(f"{tag} {command}\r\n".encode())
        while True:
            text = self.line()
            self.lines.append(text)
            if not self.quiet:
                print(f"S: {text}")
            if text.startswith(tag + " "):
                return text[len(tag) + 1 :]


def mutf7(name):
    out, run = [], []

    def flush():
        if run:
            b = base64.b64encode("".join(run).encode("utf-16-be")).decode().rstrip("=")
            out.append("&" + b.replace("/", ",") + "-")
            run.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            run.append(ch)
    flush()
    return "".join(out)


def login(port, quiet=False):
    user = os.environ.get("IMAP_USER", "anna")
    password = os.environ.get("IMAP_PASS")
    if password is None:
        raise SystemExit("IMAP_PASS is not set")
    ses = Session(port)
    ses.quiet = quiet
    greeting = ses.line()
    if not quiet:
        print(f"S: {greeting}")
    status = ses.cmd(f"LOGIN {quote(user)} {quote(password)}", f"LOGIN {quote(user)} ***")
    if not status.startswith("OK"):
        raise SystemExit(1)
    return ses


def create(port, names):
    ses = login(port)
    for name in names:
        status = ses.cmd(f"CREATE {quote(mutf7(name))}")
        if status.startswith("OK"):
            ses.cmd(f"DELETE {quote(mutf7(name))}")
    ses.cmd("LOGOUT")
    return 0


LIST_RE = re.compile(r'^\* LIST \(([^)]*)\) (NIL|"(?:[^"\\]|\\.)*") (.*)$')


def tree(port):
    ses = login(port, quiet=True)
    ses.lines = []
    ses.cmd('LIST "" "*"')
    boxes = []
    for text in ses.lines:
        m = LIST_RE.match(text)
        if m:
            boxes.append((m.group(1), m.group(3)))
    for flags, name in boxes:
        ses.lines = []
        status = ses.cmd(f"STATUS {name} (MESSAGES)")
        n = "?"
        for text in ses.lines:
            m = re.search(r"\(MESSAGES (\d+)\)", text)
            if m:
                n = m.group(1)
        if not status.startswith("OK"):
            n = status
        print(f"{n}\t{flags}\t{name}")
    ses.cmd("LOGOUT")
    return 0


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
    if len(sys.argv) < 3 or sys.argv[1] not in ("greeting", "session", "create", "tree"):
        print(__doc__, file=sys.stderr)
        return 2
    port = int(sys.argv[2])
    if sys.argv[1] == "create":
        return create(port, sys.argv[3:])
    if sys.argv[1] == "tree":
        return tree(port)
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    return greeting(port) if sys.argv[1] == "greeting" else session(port)


if __name__ == "__main__":
    sys.exit(main())
