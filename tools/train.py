# Train a model (classifier or distiller) from an OpenMMLab config.
# Same arguments as MMPretrain's and MMRazor's tools/train.py.
import argparse
import os
import os.path as osp
import sys

# isort: off
# relkd_mm first: its compat patches must precede every mm* import.
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
import relkd_mm  # noqa: E402,F401  (applies the compat patches first)
from mmengine.config import Config  # noqa: E402

from relkd_mm.runner import trust_checkpoint  # noqa: E402
from relkd_mm.runner.config_values import \
    check_config_values  # noqa: E402
from relkd_mm.runner.work_dir_lock import work_dir_lock  # noqa: E402
from relkd_mm.utils.cli import DictAction  # noqa: E402
from relkd_mm.utils.tool_runner import (ToolRunner, amp_error,  # noqa
                                        missing_file)
# isort: on


def parse_args():
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='If specify checkpoint path, resume from it, while if not '
        'specify, try to auto resume from the latest checkpoint '
        'in the work directory.')
    parser.add_argument(
        '--load-from',
        metavar='FILE',
        help='start from the weights of FILE (the config\'s load_from), '
        'as a file name: unlike --cfg-options load_from=FILE it may '
        'contain commas and spaces')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='enable automatic-mixed-precision training')
    parser.add_argument(
        '--verbose',
        action='store_true',
        help='also print MMEngine\'s environment, config dump and hook '
        'order to the console (the log file always has them)')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate by the total batch size')
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='do not validate during training')
    parser.add_argument(
        '--trust-checkpoint',
        action='append',
        default=[],
        metavar='FILE',
        help='allow full unpickling of FILE: only for a checkpoint you '
        'wrote yourself that holds objects outside relkd_mm\'s allow-list '
        '(resume and MMEngine checkpoints never need it). Logged. Never use '
        'it for downloaded or copied files.')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override some settings in the used config, the key-value pair '
        'in xxx=yyy format will be merged into config file. If the value to '
        'be overwritten is a list, it should be like key="[a,b]" or key=a,b '
        'It also allows nested list/tuple values, e.g. key="[(a,b),(c,d)]" '
        'Note that the quotation marks are necessary and that no white space '
        'is allowed.')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    # torch.distributed.launch passes --local-rank; torchrun sets LOCAL_RANK
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def merge_args(cfg, args):
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)

    # work_dir priority: CLI > config > ./work_dirs/<config name>
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])

    if args.amp:
        optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if optim_wrapper == 'AmpOptimWrapper':
            print('AMP training is already enabled in your config.')
        else:
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')

    if args.load_from is not None:
        cfg.load_from = args.load_from
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume

    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True

    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None
    return cfg


def trust_named_checkpoints(args):
    """Allow full unpickling of the files named with --trust-checkpoint,
    and of nothing else: every checkpoint MMEngine writes, a resumed one
    included, loads through the allow-list of relkd_mm.runner.checkpoint,
    so that a copied work dir or a planted `last_checkpoint` runs no code."""
    for path in args.trust_checkpoint:
        trust_checkpoint(path)


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    cfg = merge_args(cfg, args)
    # Before the runner writes anything: a wrong type fails naming its key.
    check_config_values(cfg)
    trust_named_checkpoints(args)

    error = amp_error(cfg, '--amp' if args.amp else None) or missing_file(
        'model.teacher_ckpt', (cfg.get('model') or {}).get('teacher_ckpt'))
    if error:
        sys.exit(f'tools/train.py: {error}')

    # One run per work dir, taken before the runner writes its log there.
    with work_dir_lock(cfg.work_dir):
        runner = ToolRunner.for_config(cfg, verbose=args.verbose)
        runner.train()


if __name__ == '__main__':
    main()
