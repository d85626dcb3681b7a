"""A throwaway PostgreSQL cluster of a test's own, to stop and start again (a restart on demand).

It runs Debian's server binaries on a free loopback port with trust
authentication, from a data directory deleted when the test ends. PostgreSQL
refuses to run as root: as root, the cluster is made and run as the
`postgres` user, in a directory of its own under the system temp directory
(pytest's tmp_path is private to root).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

from tests.harness.processes import Process, Processes, free_port, wait_until

START_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0
SERVER_USER = "postgres"


def server_bin_dir() -> Path | None:
    """Debian's newest installed PostgreSQL server binaries, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


def _as_server_user(argv: list[str]) -> list[str]:
    return ["runuser", "-u", SERVER_USER, "--", *argv] if os.geteuid() == 0 else argv


@dataclass
class PostgresCluster:
    bin_dir: Path
    root: Path
    port: int
    processes: Processes
    server: Process | None = field(default=None, init=False)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def answers(self) -> bool:
        try:
            with psycopg.connect(self.url(), connect_timeout=1) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False

    def init(self) -> None:
        initdb = [str(self.bin_dir / "initdb"), "-D", str(self.data_dir), "-U", "postgres"]
        subprocess.run(
            _as_server_user([*initdb, "--auth=trust", "-E", "UTF8", "--no-sync", "--locale=C"]),
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start(self) -> None:
        """Starts the server and returns once it accepts connections."""
        server = [str(self.bin_dir / "postgres"), "-D", str(self.data_dir), "-p", str(self.port)]
        # A test's data need not survive a power cut.
        unsafe_fast = ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        self.server = self.processes.start(
            _as_server_user(
                [*server, "-k", str(self.root), "-c", "listen_addresses=127.0.0.1", *unsafe_fast]
            ),
            name=f"postgres {self.port}",
        )
        self.server.wait_ready(self.answers, timeout=START_TIMEOUT, what=f"PostgreSQL on port {self.port}")

    def stop(self) -> None:
        """A fast shutdown (SIGINT): open connections are ended, as in a restart by an operator."""
        if self.server is None or self.server.poll() is not None:
            return
        # To the postmaster alone: it ends its own children; runuser, its parent, exits with it.
        postmaster = int((self.data_dir / "postmaster.pid").read_text().split()[0])
        os.kill(postmaster, signal.SIGINT)
        wait_until(
            lambda: self.server is not None and self.server.poll() is not None,
            timeout=STOP_TIMEOUT,
            what="PostgreSQL to stop",
            explain=self.server.explain,
        )

    def restart(self) -> None:
        self.stop()
        self.start()

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@pytest.fixture
def postgres_cluster(processes: Processes) -> Iterator[PostgresCluster]:
    """A running throwaway cluster (`.restart()`, `.url(db)`); stopped and deleted after the test."""
    bin_dir = server_bin_dir()
    if bin_dir is None:
        pytest.skip("needs PostgreSQL's server binaries (apt-get install postgresql)")
    root = Path(tempfile.mkdtemp(prefix="brigade-pg-"))
    if os.geteuid() == 0:
        owner = pwd.getpwnam(SERVER_USER)
        os.chown(root, owner.pw_uid, owner.pw_gid)
    cluster = PostgresCluster(bin_dir=bin_dir, root=root, port=free_port(), processes=processes)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
