"""``tools/train.py`` run in the test's own process (seconds instead of a
fresh interpreter's import time), on the tiny generated Fashion-MNIST of
``tests/test_tools/fmnist_utils.py`` and the quick-start configs."""
import contextlib
import glob
import io
import itertools
import os
import os.path as osp
import runpy
import subprocess
import sys

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
STUDENT = 'configs/quickstart/student_resnet8_fmnist.py'
KD = 'configs/quickstart/kd_wrn-16-2_resnet8_fmnist.py'
_RUNS = itertools.count()


def fmnist_options(root, epochs=1, batch=16, t_max=None):
    """``--cfg-options`` for a tiny, fast run on the generated data.

    ``t_max``: the quick start's cosine ``T_max`` (epochs); None keeps the
    config's (3), so that a resume with more epochs keeps the schedule (a
    changed one is refused on resume)."""
    loaders = ('train_dataloader', 'val_dataloader', 'test_dataloader')
    return [*(f'{d}.dataset.data_root={root}' for d in loaders),
            f'train_dataloader.batch_size={batch}',
            f'train_cfg.max_epochs={epochs}',
            *([f'param_scheduler.T_max={t_max}'] if t_max else []),
            'default_hooks.logger.interval=1', 'randomness.seed=0',
            # One logger and visualizer per run (they are named instances).
            f'experiment_name=inprocess_{next(_RUNS)}']


def train(config, work_dir, *args, options=()):
    """``python tools/train.py config --work-dir work_dir --no-validate
    *args --cfg-options *options``, in this process."""
    argv = [osp.join(REPO, 'tools', 'train.py'), osp.join(REPO, config),
            '--work-dir', str(work_dir), '--no-validate', *map(str, args)]
    if options:
        argv += ['--cfg-options', *map(str, options)]
    from mmengine.registry import DefaultScope
    scopes = set(DefaultScope._instance_dict)
    saved = sys.argv
    sys.argv = argv
    try:
        runpy.run_path(argv[0], run_name='__main__')
    finally:
        sys.argv = saved
        # The runner leaves its default scope current (see conftest.py);
        # module-scoped fixtures train before conftest's guard starts.
        for name in set(DefaultScope._instance_dict) - scopes:
            del DefaultScope._instance_dict[name]


def log_text(work_dir):
    """Every log file written in ``work_dir``, concatenated in order."""
    text = ''
    for path in sorted(glob.glob(osp.join(str(work_dir), '*', '*.log'))):
        with open(path) as f:
            text += f.read()
    return text


def run_inprocess(script, *args, check=True):
    """``python tools/<script> *args`` in this process (no interpreter
    start, no re-import of the stack): the script's ``__main__`` with
    ``sys.argv`` set, its stdout and stderr captured, on one thread as the
    subprocesses of the tests run (``OMP_NUM_THREADS=1``), so that its
    numbers equal theirs. Returns a ``subprocess.CompletedProcess`` like
    ``conftest.run_tool``: ``returncode`` is 1 for an exception (``check``
    re-raises it), the ``SystemExit`` code otherwise.

    Give train.py runs a unique ``experiment_name`` (see
    :func:`fmnist_options`): MMEngine's logger and visualizer are named
    instances, and two runners of one config within a second would share
    them."""
    import torch
    from mmengine.registry import DefaultScope
    argv = [osp.join(REPO, 'tools', script), *map(str, args)]
    scopes = set(DefaultScope._instance_dict)
    saved, threads = sys.argv, torch.get_num_threads()
    out, err = io.StringIO(), io.StringIO()
    code = 0
    sys.argv = argv
    torch.set_num_threads(1)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                runpy.run_path(argv[0], run_name='__main__')
            except SystemExit as exc:
                if isinstance(exc.code, int) or exc.code is None:
                    code = exc.code or 0
                else:  # sys.exit('message'): printed, status 1
                    print(exc.code, file=sys.stderr)
                    code = 1
            except Exception:
                if check:
                    raise
                import traceback
                traceback.print_exc()
                code = 1
    finally:
        sys.argv = saved
        torch.set_num_threads(threads)
        for name in set(DefaultScope._instance_dict) - scopes:
            del DefaultScope._instance_dict[name]
    proc = subprocess.CompletedProcess(argv, code, out.getvalue(),
                                       err.getvalue())
    if check and code != 0:
        raise AssertionError(f'tools/{script} failed ({code}):\n'
                             f'{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}')
    return proc


def fork_tool(script, *args, env=None, output=None):
    """Start ``python tools/<script> *args`` as a forked child of this
    process: a process of its own (its own exit status, killable, its own
    ``torch.distributed`` group) that starts with this process's imports
    instead of importing the stack again. Returns the child's pid (wait
    with :func:`wait_forked`).

    ``env``: variables set in the child only; ``output``: a file name or
    a file descriptor for the child's stdout and stderr. The child runs
    on one thread, as the subprocesses of the tests (and since an OpenMP
    pool does not survive a fork)."""
    import torch
    path = osp.join(REPO, 'tools', script)
    argv = [path, *map(str, args)]
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        fd = output if isinstance(output, int) else os.open(
            output or os.devnull, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        sys.stdout = open(1, 'w', buffering=1, closefd=False)
        sys.stderr = open(2, 'w', buffering=1, closefd=False)
        os.environ.update(env or {})
        torch.set_num_threads(1)
        sys.argv = argv
        runpy.run_path(path, run_name='__main__')
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
        if not isinstance(exc.code, (int, type(None))):
            print(exc.code, file=sys.stderr)
    except BaseException:
        import traceback
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def wait_forked(pid, timeout=300):
    """The exit status of a :func:`fork_tool` child (negative: the signal
    that killed it), killing it after ``timeout`` seconds."""
    import time
    deadline = time.time() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.time() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            raise AssertionError(f'forked tool {pid} ran past {timeout} s')
        time.sleep(0.05)
