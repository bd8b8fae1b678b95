# Run REFILLED's two stages: stage 1 (relationship matching), then stage 2
# (embedding-induced classifier) from stage 1's last checkpoint.
#
#   python tools/train_refilled.py STAGE1_CONFIG STAGE2_CONFIG \
#       [--work-dir DIR] [--gpus N] [--resume] [--cfg-options ...] \
#       [--stage1-options ...] [--stage2-options ...]
#
# Each stage is an ordinary `tools/train.py` run in DIR/stage1 and
# DIR/stage2. Stage 2 loads stage 1's *last* checkpoint (`load_from`); no
# checkpoint is ever selected on the validation/test set.
import argparse
import os.path as osp
import subprocess
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def parse_args():
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
        help='resume each stage from its latest checkpoint, if any')
    parser.add_argument(
        '--cfg-options', nargs='+', default=[],
        help='key=value overrides for both stages')
    parser.add_argument('--stage1-options', nargs='+', default=[],
                        help='key=value overrides for stage 1 only')
    parser.add_argument('--stage2-options', nargs='+', default=[],
                        help='key=value overrides for stage 2 only')
    return parser.parse_args()


def train(config, work_dir, options, args, resume, load_from=None):
    if args.gpus > 1:
        cmd = [sys.executable, '-m', 'torch.distributed.run',
               f'--nproc_per_node={args.gpus}']
        launcher = ['--launcher', 'pytorch']
    else:
        cmd, launcher = [sys.executable], []
    cmd += [osp.join(ROOT, 'tools', 'train.py'), config, '--work-dir',
            work_dir, *launcher]
    if resume:
        cmd.append('--resume')
    if load_from:
        # Its own argument, not `--cfg-options load_from=...`: DictAction
        # splits values at commas (and drops spaces), so a work dir with a
        # comma would become a list.
        cmd += ['--load-from', load_from]
    if options:
        cmd += ['--cfg-options', *options]
    print('+', ' '.join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def last_checkpoint(work_dir):
    path = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'Stage 1 left no checkpoint in {work_dir!r} (no '
            '`last_checkpoint` file): check its log.')
    with open(path) as f:
        return f.read().strip()


def main():
    args = parse_args()
    work_dir = args.work_dir or osp.join(
        'work_dirs', osp.splitext(osp.basename(args.stage2_config))[0])
    stage1_dir = osp.join(work_dir, 'stage1')
    stage2_dir = osp.join(work_dir, 'stage2')
    train(args.stage1_config, stage1_dir,
          args.cfg_options + args.stage1_options, args, args.resume)
    options = args.cfg_options + args.stage2_options
    if args.resume and osp.isfile(osp.join(stage2_dir, 'last_checkpoint')):
        # The stage-2 checkpoint holds the student, centres and optimiser.
        train(args.stage2_config, stage2_dir, options, args, resume=True)
        return
    ckpt = last_checkpoint(stage1_dir)
    print(f'Stage 2 starts from {ckpt}', flush=True)
    train(args.stage2_config, stage2_dir, options, args, resume=False,
          load_from=ckpt)


if __name__ == '__main__':
    main()
