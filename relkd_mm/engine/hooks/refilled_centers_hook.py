"""Fill REFILLED's global class centers before stage 2 trains."""
import torch
import torch.nn.functional as F
from mmengine import dist
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.utils import ProgressBar
from mmrazor.registry import HOOKS

from relkd_mm.models.algorithms.teacher import teacher_forward
from relkd_mm.models.losses import RefilledClassifierLoss


@HOOKS.register_module()
class RefilledCentersHook(Hook):
    """Compute the class centers of every ``RefilledClassifierLoss`` with
    ``center_mode='global'`` before training.

    One pass of the teacher (eval mode, no gradient, ``mode='tensor'``) over
    the student's training dataloader; per class of the student task, the
    mean of the raw teacher features that the loss receives (the same
    recorder, through the distiller's ``loss_forward_mappings['feats_T']``),
    then L2-normalised. Sums and counts are all-reduced across ranks, so
    every rank gets the same centers (the samples a distributed sampler pads
    with are counted twice, a negligible effect on a mean). The centers live
    in the loss's buffers and thus in checkpoints: after ``--resume`` (or a
    ``load_from`` that has them) the hook finds them ready and skips the
    pass.

    Args:
        dataloader (str): ``'train'`` (the student's training data, as the
            official code does). Only that value is supported; the argument
            makes the choice visible in configs.
    """

    priority = 'NORMAL'

    def __init__(self, dataloader='train'):
        if dataloader != 'train':
            raise ValueError(
                f"RefilledCentersHook: dataloader={dataloader!r}: only "
                "'train' (the student's training data) is supported.")

    def before_train(self, runner):
        model = runner.model
        if is_model_wrapper(model):
            model = model.module
        pending = self._pending_losses(model)
        if not pending:
            return
        feats_keys = {
            name: model.distiller.loss_forward_mappings[name]['feats_T']
            for name in pending
        }
        sums, counts = self.accumulate(model, runner.train_dataloader,
                                       feats_keys)
        dataset = runner.train_dataloader.dataset
        for name, loss in pending.items():
            counts_ = counts[name]
            missing = (counts_ == 0).nonzero().flatten().tolist()
            if missing:
                raise ValueError(
                    f'RefilledCentersHook: classes {missing} of the student '
                    f'task have no sample in the training set ({dataset!r}, '
                    f'{len(dataset)} samples): the loss `{name}` has '
                    f'num_classes={loss.num_classes}. Check num_classes and '
                    'the dataset (e.g. ClassSubsetDataset.classes).')
            means = sums[name] / counts_[:, None]
            loss.set_centers(F.normalize(means, dim=1).to(loss.centers))
            print_log(
                f'RefilledCentersHook: {loss.num_classes} class centers of '
                f'`{name}` computed from {int(counts_.sum())} samples.',
                logger='current')

    @staticmethod
    def _pending_losses(model):
        losses = {
            name: loss
            for name, loss in model.distiller.distill_losses.items()
            if isinstance(loss, RefilledClassifierLoss)
            and loss.center_mode == 'global'
        }
        ready = {name for name, loss in losses.items()
                 if bool(loss.centers_ready)}
        if ready:
            print_log(
                f'RefilledCentersHook: centers of {sorted(ready)} restored '
                'from the checkpoint; not recomputed.', logger='current')
        return {k: v for k, v in losses.items() if k not in ready}

    @staticmethod
    @torch.no_grad()
    def accumulate(model, dataloader, feats_keys):
        """Per-class sums (float64) and counts of the recorded teacher
        features, summed over ranks.

        Returns:
            tuple[dict, dict]: ``sums[name]`` ``(num_classes, feat_dim)``
            and ``counts[name]`` ``(num_classes,)`` per loss name.
        """
        distiller = model.distiller
        losses = distiller.distill_losses
        device = next(iter(losses[n].centers for n in feats_keys)).device
        sums = {
            n: torch.zeros(losses[n].centers.shape, dtype=torch.float64,
                           device=device)
            for n in feats_keys
        }
        counts = {
            n: torch.zeros(losses[n].num_classes, dtype=torch.float64,
                           device=device)
            for n in feats_keys
        }
        was_training = model.teacher.training
        model.teacher.eval()
        progress = ProgressBar(len(dataloader)) \
            if dist.is_main_process() else None
        for data in dataloader:
            data = model.data_preprocessor(data, False)
            inputs, samples = data['inputs'], data['data_samples']
            teacher_forward(model, inputs, samples, deliveries=False)
            labels = torch.cat([s.gt_label for s in samples]).to(device)
            for name, mapping in feats_keys.items():
                if labels.max() >= losses[name].num_classes:
                    raise ValueError(
                        f'RefilledCentersHook: label {int(labels.max())} in '
                        f'the training data, but `{name}` has num_classes='
                        f'{losses[name].num_classes}.')
                feats = distiller.get_record(**mapping).flatten(1)
                sums[name].index_add_(0, labels, feats.double())
                counts[name].index_add_(
                    0, labels, torch.ones_like(labels, dtype=torch.float64))
            if progress is not None:
                progress.update()
        if progress is not None:
            progress.file.write('\n')
        model.teacher.train(was_training)
        for name in feats_keys:
            dist.all_reduce(sums[name], op='sum')
            dist.all_reduce(counts[name], op='sum')
        return sums, counts
