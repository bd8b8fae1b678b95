"""The teacher's forward pass that the relational algorithms share."""
import torch


def teacher_forward(model, inputs, samples=None, deliveries=True):
    """Run ``model``'s teacher once in ``mode='tensor'``, without gradient,
    its recorders capturing what the distillation losses read.

    Tensor mode, because the teacher computes no loss: a teacher of another
    label space (REFILLED) must never see the student's labels, and VRM's
    ``2B`` views have only ``B`` data samples. Written once here for
    :class:`VRMDistill`, :class:`RefilledDistill`,
    :class:`~relkd_mm.engine.hooks.RefilledCentersHook` and the visualiser,
    so that they record the same thing the same way.

    Args:
        model: A distillation algorithm (``teacher`` and ``distiller``
            attributes, MMRazor's ``ConfigurableDistiller``).
        inputs (Tensor): The teacher's batch, preprocessed.
        samples (list, optional): Its data samples (``None`` for VRM's
            ``2B`` views: tensor mode does not read them).
        deliveries (bool): Also record the distiller's deliveries for the
            student pass that follows (a training or visualised step). Off
            for passes with no student pass after them (the centers hook):
            a recorded delivery nobody consumes would be left queued.
    """
    distiller = model.distiller
    with torch.no_grad():
        if not deliveries:
            with distiller.teacher_recorders:
                return model.teacher(inputs, samples, mode='tensor')
        distiller.set_deliveries_override(False)
        with distiller.teacher_recorders, distiller.deliveries:
            return model.teacher(inputs, samples, mode='tensor')
