"""One run per work dir.

Two trainings started in one work dir (the same config twice, a resume
beside a running job, another seed with the same ``--work-dir``) used to
both exit 0 after writing one interleaved log, one interleaved
``vis_data/scalars.json`` and checkpoints of whichever wrote last, with no
warning: MMEngine names a run's log folder by the second it starts.

:func:`work_dir_lock` takes an exclusive ``flock`` on
``<work_dir>/.relkd_mm_run.lock`` before the runner is built (the runner
writes its log and config as it is built) and holds it until the run ends.
A second run is refused at once, naming the run that holds the work dir
(its PID, command and start time) and the fix. The kernel drops the lock of
a process that dies, so a lock left by a killed run (SIGKILL, OOM, a node
reboot) never blocks the next one; the file stays, its content is only
informative.

Under DDP (``--launcher pytorch``/``slurm``) the processes of one run share
the work dir: only the process of global rank 0 (``RANK``) takes the lock,
and a second run fails on its rank 0, which stops its launcher.
"""
import contextlib
import os
import os.path as osp
import sys
import time

#: The lock file's name in the work dir.
LOCK_NAME = '.relkd_mm_run.lock'


class WorkDirInUseError(RuntimeError):
    """Another run is writing into the work dir."""


def _holder(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return ''


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _refuse(work_dir, holder):
    info = dict(line.split('=', 1) for line in holder.splitlines()
                if '=' in line)
    who = (f'PID {info.get("pid", "?")}, started {info.get("started", "?")}'
           f', command: {info.get("command", "?")}')
    raise WorkDirInUseError(
        f'work dir {work_dir} is in use by another run ({who}). Two runs in '
        'one work dir would write one interleaved log, one interleaved '
        'scalars.json and overwrite each other\'s checkpoints. Pass another '
        '--work-dir (or work_dir), or wait for that run to end (to stop '
        f'it: kill {info.get("pid", "PID")}); a run that was killed holds '
        'no lock.')


def _is_rank_zero():
    return int(os.environ.get('RANK', '0') or 0) == 0


@contextlib.contextmanager
def work_dir_lock(work_dir):
    """Hold ``work_dir`` for one run (see the module's docstring).

    Raises:
        WorkDirInUseError: another live process holds it; the message names
            its PID, command and start, and the fix.
    """
    if not work_dir or not _is_rank_zero():
        yield
        return
    work_dir = osp.abspath(osp.expanduser(str(work_dir)))
    os.makedirs(work_dir, exist_ok=True)
    path = osp.join(work_dir, LOCK_NAME)
    record = (f'pid={os.getpid()}\n'
              f'started={time.strftime("%Y-%m-%d %H:%M:%S")}\n'
              f'command={" ".join(sys.argv)}\n')
    try:
        import fcntl
    except ImportError:  # no flock (Windows): a PID file, checked alive
        fcntl = None
    if fcntl is None:
        holder = _holder(path)
        pid = dict(line.split('=', 1) for line in holder.splitlines()
                   if '=' in line).get('pid', '')
        if pid.isdigit() and int(pid) != os.getpid() and \
                _pid_alive(int(pid)):
            _refuse(work_dir, holder)
        with open(path, 'w') as f:
            f.write(record)
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                os.remove(path)
        return
    # Opened without truncating: the holder's record stays readable until
    # this process owns the lock.
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # BlockingIOError: held by a live process
            _refuse(work_dir, _holder(path))
        os.ftruncate(fd, 0)
        os.write(fd, record.encode())
        try:
            yield
        finally:
            # The file stays (removing it would let a waiting opener lock
            # an unlinked inode); emptied, then unlocked.
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
