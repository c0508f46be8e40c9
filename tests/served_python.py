"""``python`` for the tools that the tool server (``tests/tool_server.py``)
runs: the body of the executable a served tool sees as ``sys.executable``.

A tool that starts ``sys.executable SCRIPT ...`` or ``sys.executable -m
MODULE ...`` (the benchmark its trainings, torchrun its ranks) would start a
fresh interpreter that imports the package again. This executable asks the
tool server instead: it sends the command line, its working directory, its
environment and its standard fds (``SCM_RIGHTS``) over the server's socket,
and the server forks a child that runs the command on those fds, or refuses
(a command or an environment that a fork would not run as a fresh
interpreter does). Refused, or with no server to ask, it becomes the real
interpreter (``exec``), so it always behaves as ``python`` does.

While the child runs, this process stands in for it: the signals it gets
are passed on to the child, it ends with the child's exit status (killing
itself with the signal that killed the child), and when it dies (``kill
-9``, the kernel's parent-death signal) the server kills the child's
process group, as the death of a real interpreter ends what it ran.

Not imported: the server writes an executable file of ``#!REAL -IS``,
``REAL = ...``, ``SOCKET = ...`` and this file's text (standard library
only, so that it starts in milliseconds).
"""
import json
import os
import signal
import socket
import sys

#: The real interpreter and the server's socket (set by the server).
REAL: str = globals().get('REAL', sys.executable)
SOCKET: str = globals().get('SOCKET', '')
#: Signals passed on to the child.
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT,
             signal.SIGUSR1, signal.SIGUSR2)


def request_of(argv: list) -> dict:
    """The server's request for ``python ARGV``, or None where the command
    is not one the server may run (options other than ``-u``, ``-c``, a
    file that is not a ``.py`` script)."""
    unbuffered = False
    rest = list(argv)
    while rest and rest[0] == '-u':
        unbuffered = True
        rest.pop(0)
    if not rest:
        return None
    if rest[0] == '-m':
        if len(rest) < 2:
            return None
        kind, target, args = 'module', rest[1], rest[2:]
    elif rest[0].startswith('-') or not rest[0].endswith('.py'):
        return None
    else:
        kind, target, args = 'script', rest[0], rest[1:]
    return dict(kind=kind, target=target, args=args, unbuffered=unbuffered,
                orig_argv=[REAL, *argv], cwd=os.getcwd(),
                env=dict(os.environ))


def become_python() -> None:
    """Run the command in the real interpreter (does not return)."""
    os.execv(REAL, [REAL, *sys.argv[1:]])


def receive(conn: socket.socket, buffer: bytearray) -> dict:
    """The server's next reply; None once the server closed the socket."""
    while b'\n' not in buffer:
        chunk = conn.recv(4096)
        if not chunk:
            return None
        buffer += chunk
    line, _, rest = bytes(buffer).partition(b'\n')
    buffer[:] = rest
    return json.loads(line)


def main() -> None:
    request = request_of(sys.argv[1:])
    if request is None or not SOCKET:
        become_python()
    buffer = bytearray()
    try:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.connect(SOCKET)
        socket.send_fds(conn, [(json.dumps(request) + '\n').encode()],
                        [0, 1, 2])
        reply = receive(conn, buffer)
    except OSError:
        reply = None  # no server any more: nothing of the command ran
    if not reply or 'pid' not in reply:
        become_python()
    pid = reply['pid']

    def forward(signum, frame):
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    for signum in FORWARDED:
        signal.signal(signum, forward)
    reply = receive(conn, buffer)
    if reply is None:  # the server died: its children were killed
        os._exit(1)
    status = reply['returncode']
    if status < 0:
        signal.signal(-status, signal.SIG_DFL)
        os.kill(os.getpid(), -status)
    os._exit(status & 0xFF)


if __name__ == '__main__':
    main()
