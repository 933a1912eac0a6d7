"""`wijkwerf serve --workers N`: uvicorn's worker supervisor, with a listening socket per worker.

uvicorn's workers share one listening socket, and whichever worker wakes first accepts the next
connection. Under a burst the busy worker keeps winning: with 64 keep-alive connections one
worker was seen holding two thirds of them while the other idled, so half the machine waited on
one core. Here every worker listens on a socket of its own, bound to the same address with
SO_REUSEPORT, and the kernel spreads new connections over them evenly (by a hash of the client's
address and port). The supervisor itself keeps uvicorn's behaviour: it starts, health-checks,
restarts and stops the workers.

The supervisor's socket only reserves the address (bound, never listening). It is bound before
it allows SO_REUSEPORT, so a port already in use fails at start-up ("address already in use"),
also when the holder is another Wijkwerf that would otherwise share it. Only processes of the
same user can join the group of sockets (a Linux rule of SO_REUSEPORT).
"""

import logging
import socket

import uvicorn
from uvicorn.supervisors import multiprocess


def _bound_socket(host: str, port: int, *, exclusive: bool = False) -> socket.socket:
    """A socket bound with SO_REUSEPORT. `exclusive` binds it first without, so that it fails
    when anything already holds the port (another Wijkwerf included, which would otherwise
    silently share it), and only then lets this server's workers join it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if not exclusive:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    return sock


class _WorkerWithOwnSocket(multiprocess.Process):
    """A uvicorn worker that listens on a socket of its own instead of the supervisor's."""

    def target(self, sockets: list[socket.socket] | None = None) -> None:  # pragma: no cover
        for shared in sockets or []:
            shared.close()
        super().target([_bound_socket(self.config.host, self.config.port)])


def run_workers(config: uvicorn.Config) -> None:
    """Run `config.workers` workers (at least 2) until a signal stops them."""
    reserved = _bound_socket(config.host, config.port, exclusive=True)
    config.port = reserved.getsockname()[1]  # port 0: the workers join the port it was given
    host = f"[{config.host}]" if ":" in config.host else config.host
    logging.getLogger("uvicorn.error").info(
        "Wijkwerf running on http://%s:%d with %d workers, each listening on its own socket "
        "(SO_REUSEPORT; press CTRL+C to quit)", host, config.port, config.workers)
    # uvicorn's supervisor makes its workers from the module's `Process`: hand it ours.
    multiprocess.Process = _WorkerWithOwnSocket  # type: ignore[misc]
    try:
        multiprocess.Multiprocess(config, sockets=[reserved]).run()
    except KeyboardInterrupt:
        pass
    finally:
        reserved.close()
