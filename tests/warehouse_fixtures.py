"""Real database servers for the warehouse tests, started once per test run and stopped at its end:
a throwaway PostgreSQL cluster (initdb + pg_ctl, run as the `postgres` user when we are root) with a
role that has a password, and a Spark Connect server from the installed pyspark (`--master local[2]`).

Where a server cannot start they skip, unless GTMSITE_REQUIRE_SERVICES=1 (CI), where they fail.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest


def unavailable(reason: str) -> None:
    if os.environ.get("GTMSITE_REQUIRE_SERVICES") == "1":
        pytest.fail(f"GTMSITE_REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.2)
    return False


@dataclass(frozen=True)
class Postgres:
    port: int
    user: str
    password: str
    database: str
    admin_url: str

    @property
    def url(self) -> str:
        """The URL a site reads from its environment (it holds the password)."""
        return f"postgresql://{self.user}:{self.password}@127.0.0.1:{self.port}/{self.database}"

    def execute(self, *statements: str, admin: bool = False) -> None:
        """Run statements in the `crm` database as the analyst (or on the server as its administrator)."""
        import adbc_driver_postgresql.dbapi as pg

        with pg.connect(self.admin_url if admin else self.url, autocommit=True) as con, con.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)


def _pg_binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


@pytest.fixture(scope="session")
def postgres() -> Postgres:
    try:
        import adbc_driver_postgresql  # noqa: F401 - the tests' own client
    except ImportError:
        unavailable("adbc-driver-postgresql is not installed (pip install 'gtmsite[postgres]')")
    initdb, pg_ctl = _pg_binary("initdb"), _pg_binary("pg_ctl")
    if not initdb or not pg_ctl:
        unavailable("the PostgreSQL server binaries (initdb, pg_ctl) are not installed (apt-get install postgresql)")
    root = os.geteuid() == 0
    folder = Path(tempfile.mkdtemp(prefix="gtmsite-pg-"))
    run_as: list[str] = []
    if root:
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            unavailable("running as root, PostgreSQL needs a `postgres` user to run as")
        os.chown(folder, account.pw_uid, account.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    admin_password = "adm-" + secrets.token_hex(8)
    (folder / "pw").write_text(admin_password)
    if root:
        os.chown(folder / "pw", account.pw_uid, account.pw_gid)
    port = free_port()
    data = folder / "data"
    init = subprocess.run([*run_as, initdb, "-D", str(data), "-U", "gtm_admin", "--auth=scram-sha-256",
                           f"--pwfile={folder / 'pw'}", "-E", "UTF8", "--locale=C"], capture_output=True, text=True)
    if init.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        unavailable(f"initdb failed: {init.stderr.strip()[-500:]}")
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
    start = subprocess.run([*run_as, pg_ctl, "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w",
                            "-t", "60", "start"], capture_output=True, text=True)
    if start.returncode != 0:
        log = (folder / "log").read_text(errors="replace") if (folder / "log").exists() else ""
        shutil.rmtree(folder, ignore_errors=True)
        unavailable(f"PostgreSQL did not start: {start.stderr.strip()[-300:]} {log[-500:]}")
    admin_url = f"postgresql://gtm_admin:{admin_password}@127.0.0.1:{port}/postgres"
    server = Postgres(port, "analyst", "pw-" + secrets.token_hex(10), "crm", admin_url)
    try:
        server.execute(f"create role analyst login password '{server.password}'", "create database crm owner analyst",
                       admin=True)
        yield server
    finally:
        subprocess.run([*run_as, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


@dataclass(frozen=True)
class Spark:
    url: str
    start_seconds: float


@pytest.fixture(scope="session")
def spark() -> Spark:
    """A Spark Connect server: pyspark's own sbin/start-connect-server.sh, in the foreground."""
    try:
        import pyspark
    except ImportError:
        unavailable("pyspark is not installed (pip install 'gtmsite[spark]')")
    home = Path(pyspark.__file__).parent
    script = home / "sbin" / "start-connect-server.sh"
    if not script.is_file() or not shutil.which("java"):
        unavailable("no Java or no sbin/start-connect-server.sh in the installed pyspark")
    folder = Path(tempfile.mkdtemp(prefix="gtmsite-spark-"))
    port = free_port()
    env = {**os.environ, "SPARK_HOME": str(home), "SPARK_NO_DAEMONIZE": "1", "SPARK_LOG_DIR": str(folder),
           "SPARK_PID_DIR": str(folder), "SPARK_LOCAL_IP": "127.0.0.1",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    started = time.monotonic()
    with open(folder / "server.log", "wb") as log:
        process = subprocess.Popen(
            ["bash", str(script), "--master", "local[2]",
             "--conf", f"spark.connect.grpc.binding.port={port}",
             "--conf", "spark.connect.grpc.binding.address=127.0.0.1",
             "--conf", "spark.ui.enabled=false", "--conf", "spark.driver.host=127.0.0.1",
             "--conf", "spark.driver.bindAddress=127.0.0.1", "--conf", "spark.sql.shuffle.partitions=4",
             "--conf", f"spark.local.dir={folder}"],
            cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        if not wait_for_port(port, process, timeout=180):
            text = (folder / "server.log").read_text(errors="replace")[-1500:]
            unavailable(f"the Spark Connect server did not start: {text}")
        yield Spark(f"sc://127.0.0.1:{port}", time.monotonic() - started)
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                break
            try:
                process.wait(timeout=20)
                break
            except subprocess.TimeoutExpired:
                continue
        shutil.rmtree(folder, ignore_errors=True)
