"""RRDLoss under DDP: gloo backend, 2 CPU processes."""
import torch
import torch.distributed as torch_dist
import torch.multiprocessing as mp
import torch.nn.functional as F
from mmrazor.registry import MODELS

import relkd_mm  # noqa: F401  (compat patches before any mm* import)
from relkd_mm.models.losses import RRDLoss

WORLD = 2
QUEUE, DIM = 12, 4
# Per step, the batch size of each rank: sizes that do not divide the
# memory, and a step where the ranks differ (a sampler without padding).
BATCHES = [(5, 5), (3, 3), (4, 2), (7, 7)]


def teacher_batch(step, rank):
    gen = torch.Generator().manual_seed(100 * step + rank)
    return F.normalize(
        torch.randn(BATCHES[step][rank], DIM, generator=gen), dim=1)


def worker(rank, init_file, results):
    # Forked: no OpenMP pool of the parent in this child.
    torch.set_num_threads(1)
    torch_dist.init_process_group(
        'gloo', init_method=f'file://{init_file}', rank=rank,
        world_size=WORLD)
    try:
        out = {}
        for per_rank in (False, True):
            torch.manual_seed(0)
            loss = RRDLoss(queue_size=QUEUE, embed_dim=DIM,
                           per_rank_memory=per_rank)
            values = []
            for step in range(len(BATCHES)):
                zt = teacher_batch(step, rank)
                values.append(loss(zt.flip(1), zt).item())
            out[per_rank] = (loss.queue.clone(), loss.queue_ptr.clone(),
                             values)
        out['ddp'] = train_connectors_under_ddp()
        results[rank] = out
        # Every rank here, its DDP gone, before the group goes: a rank that
        # left first has hung its peer at exit (tools/analysis/
        # ddp_unused_cost.py, 1 run in 5).
        torch_dist.barrier()
    finally:
        torch_dist.destroy_process_group()


def train_connectors_under_ddp():
    """Student and frozen teacher heads plus the loss in one DDP module,
    without ``find_unused_parameters``: DDP raises at the second step if a
    parameter that requires a gradient did not get one."""
    torch.manual_seed(torch_dist.get_rank())  # DDP must sync the init

    class Heads(torch.nn.Module):

        def __init__(self):
            super().__init__()
            self.s = MODELS.build(
                dict(type='EmbedConnector', dim_in=6, dim_out=DIM))
            self.t = MODELS.build(dict(
                type='EmbedConnector', dim_in=8, dim_out=DIM, frozen=True))
            self.loss = RRDLoss(queue_size=QUEUE, embed_dim=DIM)

        def forward(self, fs, ft):
            return self.loss(self.s(fs), self.t(ft))

    model = torch.nn.parallel.DistributedDataParallel(
        Heads(), broadcast_buffers=False)
    optim = torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad], lr=0.1)
    for _ in range(3):
        optim.zero_grad()
        model(torch.randn(3, 6), torch.randn(3, 8)).backward()
        optim.step()
    return {k: v.clone() for k, v in model.module.state_dict().items()}


def expected_memory(initial, rows):
    memory, ptr = initial.clone(), 0
    for row in rows:
        memory[ptr] = row
        ptr = (ptr + 1) % len(memory)
    return memory, ptr


def test_rrd_memory_under_ddp(tmp_path):
    results = mp.Manager().dict()
    # Forked, not spawned: the ranks start with this process's imports
    # instead of importing the stack again (seconds each).
    mp.start_processes(worker, args=(str(tmp_path / 'init'), results),
                       nprocs=WORLD, start_method='fork')
    torch.manual_seed(0)
    initial = RRDLoss(queue_size=QUEUE, embed_dim=DIM).queue

    # Shared memory: the same on both ranks, the gathered batches written
    # in rank order.
    gathered = [teacher_batch(step, rank) for step in range(len(BATCHES))
                for rank in range(WORLD)]
    memory, ptr = expected_memory(initial, torch.cat(gathered))
    for rank in range(WORLD):
        queue, queue_ptr, values = results[rank][False]
        torch.testing.assert_close(queue, memory, rtol=0, atol=0)
        assert queue_ptr.tolist() == [ptr]
        # The loss of each rank's last step used the memory as it was
        # before that step's write (the 2024 order).
        before, _ = expected_memory(initial, torch.cat(gathered[:-WORLD]))
        zt = teacher_batch(len(BATCHES) - 1, rank)
        ref = RRDLoss(queue_size=QUEUE, embed_dim=DIM)
        ref.queue.copy_(before)
        assert values[-1] == ref(zt.flip(1), zt).item()

    # Per-rank memory: each rank's own batches only.
    for rank in range(WORLD):
        own = [teacher_batch(step, rank) for step in range(len(BATCHES))]
        memory, ptr = expected_memory(initial, torch.cat(own))
        queue, queue_ptr, _ = results[rank][True]
        torch.testing.assert_close(queue, memory, rtol=0, atol=0)
        assert queue_ptr.tolist() == [ptr]

    # DDP kept the heads in sync (the frozen one from rank 0's init) and
    # the shared memories equal.
    states = [results[rank]['ddp'] for rank in range(WORLD)]
    for key in states[0]:
        torch.testing.assert_close(states[0][key], states[1][key],
                                   rtol=0, atol=0)
