# Run REFILLED's two stages: stage 1 (relationship matching), then stage 2
# (embedding-induced classifier) from stage 1's last checkpoint.
#
#   python tools/train_refilled.py STAGE1_CONFIG STAGE2_CONFIG \
#       [--work-dir DIR] [--gpus N] [--resume] [--cfg-options ...] \
#       [--stage1-options ...] [--stage2-options ...]
#
# The stages are ordinary MMEngine runs in DIR/stage1 and DIR/stage2, run
# in this process by relkd_mm.utils.staged_run.StagedRun, the runner of
# multi-stage methods that the quick start and the benchmark use too. Stage
# 2 loads stage 1's *last* checkpoint (`load_from`); no checkpoint is ever
# selected on the validation/test set. With --gpus N > 1 this tool starts
# itself under torch.distributed.run, each process running both stages.
import argparse
import os
import os.path as osp
import subprocess
import sys

# isort: off
# relkd_mm first: its compat patches must precede every mm* import.
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
import relkd_mm  # noqa: E402,F401  (applies the compat patches first)

from relkd_mm.utils.cli import DictAction  # noqa: E402
from relkd_mm.utils.staged_run import StageConfigs, StagedRun  # noqa: E402
# isort: on


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Train REFILLED stage 1, then stage 2 from its result.')
    parser.add_argument('stage1_config')
    parser.add_argument('stage2_config')
    parser.add_argument(
        '--work-dir',
        help='parent of the stages\' work dirs; defaults to '
        'work_dirs/<stage-2 config name>')
    parser.add_argument(
        '--gpus', type=int, default=1,
        help='processes per stage; > 1 launches torch.distributed.run')
    parser.add_argument(
        '--resume', action='store_true',
        help='resume each stage from its latest checkpoint, if any (a '
        'finished stage 1 is not run again)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, default={},
        help='key=value overrides for both stages')
    parser.add_argument('--stage1-options', nargs='+', action=DictAction,
                        default={}, help='key=value overrides for stage 1 '
                        'only')
    parser.add_argument('--stage2-options', nargs='+', action=DictAction,
                        default={}, help='key=value overrides for stage 2 '
                        'only')
    # Set by the torch.distributed.run relaunch of --gpus N.
    parser.add_argument('--launcher', default='none',
                        help=argparse.SUPPRESS)
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0,
                        help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def relaunch(args):
    """This tool again under torch.distributed.run, ``--gpus`` processes."""
    argv = [a for a in sys.argv[1:] if not a.startswith('--gpus')]
    if '--gpus' in sys.argv:  # `--gpus N` as two words
        i = sys.argv.index('--gpus')
        argv = sys.argv[1:i] + sys.argv[i + 2:]
    cmd = [sys.executable, '-m', 'torch.distributed.run',
           f'--nproc_per_node={args.gpus}', osp.abspath(__file__), *argv,
           '--launcher', 'pytorch']
    print('+', ' '.join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def main(argv=None):
    args = parse_args(argv)
    if args.gpus > 1 and args.launcher == 'none':
        relaunch(args)
        return None
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    work_dir = args.work_dir or osp.join(
        'work_dirs', osp.splitext(osp.basename(args.stage2_config))[0])

    def prepare(cfg):
        cfg.launcher = args.launcher

    configs = StageConfigs(
        [args.stage1_config, args.stage2_config], dict(args.cfg_options),
        [dict(args.stage1_options), dict(args.stage2_options)], prepare)
    return StagedRun('refilled', configs, work_dir, log_level='INFO').train(
        resume=args.resume, test=False)


if __name__ == '__main__':
    main()
