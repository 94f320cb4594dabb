"""A single-node SLURM cluster started on this machine for the tests: munged, slurmctld, slurmd,
and with ``accounting=True`` also MariaDB and slurmdbd, as sites run it (``sacct`` answers from
the database; jobs run under an account that ``sacctmgr`` created).

Debian 12's packages (22.05), daemons run in the foreground as root (no systemd) and stopped by
the PIDs this module started. State, spool, database and logs live in a temporary folder. The
configuration must be at the default /etc/slurm/slurm.conf: the executor's job step drops
``SLURM_*`` variables (``SLURM_CONF`` included) before its nested ``srun``. Files already there
are put back on stop. The node has one fake GPU (``File=/dev/null``) so rules that declare
``gpu=1`` are scheduled as GPU jobs, one at a time.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

PACKAGES = ["slurmctld", "slurmd", "slurm-client", "munge"]
ACCOUNTING_PACKAGES = ["slurmdbd", "mariadb-server"]
CONF_DIR = Path("/etc/slurm")
CLUSTER = "rvaetest"
ACCOUNT = "rvae_lab"  # the account jobs run under on the cluster with accounting
GPU_MODEL = "fake"  # the node's one GPU: --gpus=1 and --gpus=fake:1 both get it


class ClusterUnavailable(RuntimeError):
    """Raised with the reason the cluster cannot be started here (the test skips with it)."""


def install(accounting: bool = False) -> None:
    """Install the cluster's packages with apt where they are missing; ``RVAE_NO_INSTALL=1`` (test.sh)
    refuses before anything is installed or started."""
    if os.environ.get("RVAE_NO_INSTALL", "0") not in ("", "0"):
        raise ClusterUnavailable("RVAE_NO_INSTALL is set: no SLURM installed or started")
    if os.geteuid() != 0:
        raise ClusterUnavailable("needs root to install and start SLURM daemons")
    tools = ["slurmctld", "slurmd", "munged", "sbatch"] + (["slurmdbd", "mariadbd", "mariadb-install-db"] if accounting else [])
    if all(shutil.which(tool) for tool in tools):
        return
    if shutil.which("apt-get") is None:
        raise ClusterUnavailable("apt-get is not available to install SLURM")
    packages = PACKAGES + (ACCOUNTING_PACKAGES if accounting else [])
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *packages]):
        done = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if done.returncode != 0:
            raise ClusterUnavailable(f"{' '.join(cmd)} failed: {done.stderr[-500:]}")


def node_hardware() -> dict:
    """CPUs and memory as slurmd sees them (``slurmd -C``)."""
    line = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, check=True).stdout.splitlines()[0]
    fields = dict(item.split("=", 1) for item in line.split())
    return {"cpus": int(fields["CPUs"]), "memory_mb": int(fields["RealMemory"])}


def _chown(path: Path, user: str) -> None:
    shutil.chown(path, user, user)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


class SlurmCluster:
    def __init__(self, root: Path, accounting: bool = False):
        self.root = Path(root)
        self.accounting = accounting
        self.node = socket.gethostname().split(".")[0]
        self.processes: dict[str, subprocess.Popen] = {}
        self.conf = CONF_DIR / "slurm.conf"
        self.dbd_conf = CONF_DIR / "slurmdbd.conf"
        self.saved: dict[Path, bytes | None] = {}
        self.db_port = free_port() if accounting else None
        self.dbd_port = free_port() if accounting else None

    @property
    def env(self) -> dict:
        return {**os.environ, "SLURM_CONF": str(self.conf)}

    def write_config(self) -> None:
        hardware = node_hardware()
        cpus = hardware["cpus"]
        memory = max(1024, int(hardware["memory_mb"] * 0.8))
        for sub in ("state", "spool", "log"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        CONF_DIR.mkdir(parents=True, exist_ok=True)
        gres = CONF_DIR / "gres.conf"
        for path in (self.conf, gres, self.dbd_conf):
            self.saved.setdefault(path, path.read_bytes() if path.exists() else None)
        if self.accounting:  # jobs and their accounts go to slurmdbd, which sacct asks
            accounting = [
                "AccountingStorageType=accounting_storage/slurmdbd",
                "AccountingStorageHost=127.0.0.1",
                f"AccountingStoragePort={self.dbd_port}",
                "AccountingStorageEnforce=associations",  # a job needs a valid account
                "AccountingStorageTRES=gres/gpu",
            ]
        else:
            accounting = ["AccountingStorageType=accounting_storage/none"]
        self.conf.write_text(
            "\n".join(
                [
                    f"ClusterName={CLUSTER}",
                    f"SlurmctldHost={self.node}(127.0.0.1)",
                    "SlurmUser=root",
                    "SlurmdUser=root",
                    "AuthType=auth/munge",
                    f"StateSaveLocation={self.root / 'state'}",
                    f"SlurmdSpoolDir={self.root / 'spool'}",
                    f"SlurmctldPidFile={self.root / 'slurmctld.pid'}",
                    f"SlurmdPidFile={self.root / 'slurmd.pid'}",
                    f"SlurmctldLogFile={self.root / 'log' / 'slurmctld.log'}",
                    f"SlurmdLogFile={self.root / 'log' / 'slurmd.log'}",
                    "SlurmctldPort=6817",
                    "SlurmdPort=6818",
                    "SelectType=select/cons_tres",
                    "SelectTypeParameters=CR_Core_Memory",
                    "ProctrackType=proctrack/linuxproc",
                    "TaskPlugin=task/none",
                    *accounting,
                    "JobAcctGatherType=jobacct_gather/none",
                    "JobCompType=jobcomp/none",
                    "MpiDefault=none",
                    "ReturnToService=2",
                    "SchedulerType=sched/backfill",
                    "SchedulerParameters=sched_interval=1",
                    "MinJobAge=600",
                    f"DefMemPerCPU={memory // (4 * cpus)}",
                    "GresTypes=gpu",
                    f"NodeName={self.node} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory} Gres=gpu:{GPU_MODEL}:1 State=UNKNOWN",
                    f"PartitionName=debug Nodes={self.node} Default=YES MaxTime=INFINITE State=UP",
                    "",
                ]
            )
        )
        # Without File= slurmd drops the GPU and the controller drains the node.
        gres.write_text(f"NodeName={self.node} Name=gpu Type={GPU_MODEL} Count=1 File=/dev/null\n")

    def start_database(self, munge_socket: Path, timeout: float) -> None:
        """MariaDB on a private port and data folder, then slurmdbd on it, then the cluster, the
        account and the user's association (what a site's admin creates with sacctmgr)."""
        data = self.root / "mariadb"
        done = subprocess.run(
            ["mariadb-install-db", "--no-defaults", f"--datadir={data}", "--user=root",
             "--auth-root-authentication-method=normal", "--skip-test-db"],
            capture_output=True, text=True,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"mariadb-install-db failed: {done.stdout[-1500:]}{done.stderr[-1500:]}")
        db_socket = self.root / "mariadb.sock"
        self._start(
            "mariadbd",
            ["mariadbd", "--no-defaults", f"--datadir={data}", "--user=root", f"--socket={db_socket}",
             f"--port={self.db_port}", "--bind-address=127.0.0.1", f"--pid-file={self.root / 'mariadb.pid'}",
             "--innodb-buffer-pool-size=64M", "--skip-name-resolve"],
        )  # fmt: skip
        self._wait(lambda: _port_open(self.db_port), timeout, "mariadbd did not listen")
        password = os.urandom(8).hex()
        sql = (f"CREATE USER 'slurm'@'127.0.0.1' IDENTIFIED BY '{password}'; "
               "GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';")  # fmt: skip
        done = subprocess.run(["mariadb", "--no-defaults", f"--socket={db_socket}", "-u", "root", "-e", sql], capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"creating the slurm database user failed: {done.stderr[-1500:]}")
        self.dbd_conf.write_text(
            "\n".join(
                [
                    "AuthType=auth/munge",
                    f"AuthInfo=socket={munge_socket}",
                    f"DbdHost={self.node}",
                    "DbdAddr=127.0.0.1",
                    f"DbdPort={self.dbd_port}",
                    "SlurmUser=root",
                    "StorageType=accounting_storage/mysql",
                    "StorageHost=127.0.0.1",
                    f"StoragePort={self.db_port}",
                    "StorageUser=slurm",
                    f"StoragePass={password}",
                    "StorageLoc=slurm_acct_db",
                    f"PidFile={self.root / 'slurmdbd.pid'}",
                    f"LogFile={self.root / 'log' / 'slurmdbd.log'}",
                    "",
                ]
            )
        )
        self.dbd_conf.chmod(0o600)  # slurmdbd refuses a config others can read (it holds the password)
        self._start("slurmdbd", ["slurmdbd", "-D"])
        self._wait(lambda: _port_open(self.dbd_port), timeout, "slurmdbd did not listen")
        for args in (
            ["add", "cluster", CLUSTER],
            ["add", "account", ACCOUNT, "Description=rosetta-vae test lab", "Organization=rvae"],
            ["add", "user", "root", f"Account={ACCOUNT}"],
            ["modify", "user", "root", "set", f"DefaultAccount={ACCOUNT}"],
        ):
            done = subprocess.run(["sacctmgr", "-i", *args], capture_output=True, text=True, env=self.env)
            if done.returncode != 0 and "Nothing" not in done.stdout + done.stderr:
                raise RuntimeError(f"sacctmgr {' '.join(args)} failed: {done.stdout}{done.stderr}{self.logs()}")

    def _start(self, name: str, cmd: list[str], user: str | None = None) -> None:
        log = open(self.root / "log" / f"{name}.out", "ab")
        if user is not None:
            cmd = ["runuser", "-u", user, "--", *cmd]
        self.processes[name] = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=self.env, start_new_session=True)

    def start(self, timeout: float = 60.0) -> None:
        install(self.accounting)
        self.write_config()
        munge_run = Path("/run/munge")
        munge_run.mkdir(parents=True, exist_ok=True)
        _chown(munge_run, "munge")
        # munged (user munge) cannot enter the test's private temporary folder: its files go in /run/munge.
        munge_files = munge_run / f"rvaetest-{os.getpid()}"
        munge_socket = Path(f"{munge_files}.socket")
        self._start(
            "munged",
            ["munged", "--foreground", "--force", f"--socket={munge_socket}", f"--pid-file={munge_files}.pid",
             f"--seed-file={munge_files}.seed"],
            user="munge",
        )  # fmt: skip
        self._wait(lambda: munge_socket.exists(), timeout, "munged did not create its socket")
        # munge clients (the slurm auth plugin) find the socket through the config.
        with self.conf.open("a") as conf:
            conf.write(f"AuthInfo=socket={munge_socket}\n")
            if self.accounting:  # the socket for talking to slurmdbd (sacct, sacctmgr, slurmctld)
                conf.write(f"AccountingStoragePass={munge_socket}\n")
        if self.accounting:
            self.start_database(munge_socket, timeout)
        self._start("slurmctld", ["slurmctld", "-D", "-i", "-f", str(self.conf)])
        self._start("slurmd", ["slurmd", "-D", "-f", str(self.conf)])
        self._wait(lambda: self.node_state() == "idle", timeout, "the node never became idle")

    def node_state(self) -> str:
        done = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True, env=self.env)
        state = done.stdout.strip()
        if state in ("drain", "drng", "down", "down*") and done.returncode == 0:
            subprocess.run(["scontrol", "update", f"nodename={self.node}", "state=resume"], capture_output=True, env=self.env)
        return state

    def _wait(self, ready, timeout: float, message: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode}: {self.logs()}")
            if ready():
                return
            time.sleep(0.5)
        raise RuntimeError(f"{message} within {timeout:.0f} s: {self.logs()}")

    def logs(self) -> str:
        parts = []
        for log in sorted((self.root / "log").glob("*")):
            parts.append(f"--- {log.name}\n{log.read_text(errors='replace')[-1500:]}")
        return "\n".join(parts)

    def stop(self) -> None:
        """Stop the daemons this object started, by PID, newest first."""
        for name in reversed(list(self.processes)):
            process = self.processes[name]
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self.processes.clear()
        for path, content in self.saved.items():
            if content is None:
                path.unlink(missing_ok=True)
            else:
                path.write_bytes(content)
        self.saved.clear()

    def __enter__(self) -> "SlurmCluster":
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
