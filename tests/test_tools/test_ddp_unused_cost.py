"""tools/analysis/ddp_unused_cost.py: both DDP variants stepped on 2
spawned gloo processes, each rank through to leaving its group; a config
that needs find_unused_parameters is refused."""
import re


def test_ddp_unused_cost_steps_both_variants(tool):
    # The tool's --timeout fails a hung rank with the step it reached,
    # before run_tool's own timeout would (a rank that left the group
    # while its peer still held a DDP reducer once hung CI here).
    proc = tool('analysis/ddp_unused_cost.py',
                'configs/quickstart/kd_wrn-16-2_resnet8_fmnist.py',
                '--batch', '4', '--size', '28', '--repeats', '2',
                '--warmup', '1', '--timeout', '240', timeout=300)
    steps = dict(re.findall(r'^\| (True|False) \| ([0-9.]+) \|$',
                            proc.stdout, re.M))
    assert set(steps) == {'True', 'False'}, proc.stdout
    assert all(float(ms) > 0 for ms in steps.values())
    assert ': 2 processes x 4 images (28 px)' in proc.stdout
    assert 'saved per step:' in proc.stdout
    for rank in (0, 1):
        assert f'[rank {rank}] left the process group' in proc.stderr


def test_ddp_unused_cost_refuses_a_config_that_needs_it(tool):
    config = 'configs/quickstart/refilled-s1_wrn-16-2_resnet8_fmnist.py'
    proc = tool('analysis/ddp_unused_cost.py', config, check=False)
    assert proc.returncode == 1
    assert 'sets find_unused_parameters = True' in proc.stderr
