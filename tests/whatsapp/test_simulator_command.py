"""``manage.py wa_simulator`` started again on the port it just left, as ``make demo`` after Ctrl-C."""

import os
import socket
import sys
import time

from tests.processes import Child, listens_on, wait_until


def a_port_left_in_time_wait() -> int:
    """A port whose server closed a real connection first: its side of it stays in TIME_WAIT for
    a minute, as the simulator's do after a Ctrl-C while the helpdesk's browser was connected."""
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)):
            served, _ = listener.accept()
            served.close()  # the server closes first: the TIME_WAIT is on its side, port ``port``
            time.sleep(0.05)
    return port


def test_the_simulator_listens_on_a_port_whose_last_connections_are_in_time_wait(tmp_path):
    port = a_port_left_in_time_wait()

    child = Child(
        [sys.executable, "manage.py", "wa_simulator", "--port", str(port)],
        env=dict(os.environ),
        log=tmp_path / "simulator.log",
    )
    try:
        wait_until(
            lambda: listens_on(child.pid, port) or child.process.poll() is not None,
            timeout=30,
            message="the simulator to listen or exit",
        )
        assert child.process.poll() is None, child.output()
        assert "Cannot listen" not in child.output()
    finally:
        child.stop()
