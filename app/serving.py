"""`wijkwerf serve --workers N`: uvicorn's worker supervisor, with a listening socket per worker.

uvicorn's workers share one listening socket, and whichever worker wakes first accepts the next
connection. Under a burst the busy worker keeps winning: with 64 keep-alive connections one
worker was seen holding two thirds of them while the other idled, so half the machine waited on
one core. Here every worker listens on a socket of its own, bound to the same address with
SO_REUSEPORT, and the kernel spreads new connections over them evenly (by a hash of the client's
address and port). The supervisor itself keeps uvicorn's behaviour: it starts, health-checks,
restarts and stops the workers.

The supervisor's socket only reserves the address (bound, never listening), so a port already in
use by another program still fails at start-up. Only processes of the same user can join the
group of sockets (a Linux rule of SO_REUSEPORT).
"""

import socket

import uvicorn
from uvicorn.supervisors import multiprocess


def _bound_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


class _WorkerWithOwnSocket(multiprocess.Process):
    """A uvicorn worker that listens on a socket of its own instead of the supervisor's."""

    def target(self, sockets: list[socket.socket] | None = None) -> None:  # pragma: no cover
        for shared in sockets or []:
            shared.close()
        super().target([_bound_socket(self.config.host, self.config.port)])


def run_workers(config: uvicorn.Config) -> None:
    """Run `config.workers` workers (at least 2) until a signal stops them."""
    reserved = _bound_socket(config.host, config.port)
    # uvicorn's supervisor makes its workers from the module's `Process`: hand it ours.
    multiprocess.Process = _WorkerWithOwnSocket  # type: ignore[misc]
    try:
        multiprocess.Multiprocess(config, sockets=[reserved]).run()
    except KeyboardInterrupt:
        pass
    finally:
        reserved.close()
