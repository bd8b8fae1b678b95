# Evaluate a checkpoint on the test set of a config (MMPretrain conventions).
import argparse
import os
import os.path as osp
import sys

# isort: off
# relkd_mm first: its compat patches must precede every mm* import.
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
import relkd_mm  # noqa: E402,F401  (applies the compat patches first)
from mmengine.config import Config  # noqa: E402

from relkd_mm.runner.config_values import \
    check_config_values  # noqa: E402
from relkd_mm.utils.cli import DictAction  # noqa: E402
from relkd_mm.utils.tool_runner import (ToolRunner, missing_file,  # noqa
                                        teacher_for_test)
# isort: on


def parse_args():
    parser = argparse.ArgumentParser(description='Test (and eval) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--work-dir',
        help='the directory to save the file containing evaluation metrics')
    parser.add_argument(
        '--out', help='the file to output results (a .pkl of predictions)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override some settings in the used config, the key-value pair '
        'in xxx=yyy format will be merged into config file.')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='test under autocast (fp16 on a GPU, bf16 on CPU: MMEngine\'s '
        'autocast)')
    parser.add_argument(
        '--verbose',
        action='store_true',
        help='also print MMEngine\'s environment, config dump and hook '
        'order to the console (the log file always has them)')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def student_alone(cfg, checkpoint):
    """The config and weights that test the student of a distillation
    checkpoint as a plain MMPretrain model (as tools/export_student.py
    exports it), for a test without the teacher's file."""
    import importlib.util

    from relkd_mm.runner.checkpoint import load_checkpoint_file
    spec = importlib.util.spec_from_file_location(
        'export_student',
        osp.join(osp.dirname(osp.abspath(__file__)), 'export_student.py'))
    export = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(export)
    standalone_config, student_model_cfg, student_state_dict = (
        export.standalone_config, export.student_model_cfg,
        export.student_state_dict)
    model_cfg = student_model_cfg(cfg)
    state = student_state_dict(
        load_checkpoint_file(checkpoint, map_location='cpu'), checkpoint)
    plain = Config(standalone_config(cfg, model_cfg).to_dict(),
                   filename=cfg.filename)
    for key in ('work_dir', 'launcher', 'experiment_name', 'randomness'):
        if key in cfg:
            plain[key] = cfg[key]
    plain.test_cfg = cfg.get('test_cfg') or dict()
    plain.load_from = None  # the weights are loaded strictly below
    return plain, state


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    error = missing_file('checkpoint', args.checkpoint)
    if error:
        sys.exit(f'tools/test.py: {error}')
    cfg.load_from = args.checkpoint
    plan, note = teacher_for_test(cfg, args.checkpoint)
    if plan == 'student':
        cfg, student_state = student_alone(cfg, args.checkpoint)
    if args.amp:
        cfg.test_cfg.fp16 = True
    if args.out is not None:
        cfg.test_evaluator = [
            *([cfg.test_evaluator] if isinstance(cfg.test_evaluator, dict)
              else cfg.test_evaluator),
            dict(type='DumpResults', out_file_path=args.out)
        ]

    check_config_values(cfg)  # a wrong type fails naming its key
    runner = ToolRunner.for_config(cfg, verbose=args.verbose)
    if note:
        runner.logger.warning(f'tools/test.py: {note}')
    if plan == 'student':
        from relkd_mm.models.utils.strict_loading import load_strictly
        load_strictly(runner.model, student_state, args.checkpoint,
                      'tools/test.py', 'Is the checkpoint from this config?',
                      target='the student model')
    metrics = runner.test()
    return metrics


if __name__ == '__main__':
    main()
