"""Free loopback ports for the processes the benchmarks start."""

import socket


def free_ports(count: int) -> list[int]:
    """Return count distinct TCP ports on 127.0.0.1 that were free a moment ago.

    The sockets are held open until all ports are chosen, so the ports differ, then
    released; a port can still be taken by another process before its server binds it.
    """
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()
