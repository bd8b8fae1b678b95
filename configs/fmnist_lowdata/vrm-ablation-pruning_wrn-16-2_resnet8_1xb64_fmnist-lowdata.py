# fmnist-lowdata VRM ablation, row 4 (the paper's order: inter-sample graph,
# + inter-class graph, + virtual views, + pruning): the VRM preset (rows 1-3)
# plus the paper's pruning, the 10% most discrepant edges of each graph
# detached. Every other value is the preset's.
_base_ = ['./vrm_wrn-16-2_resnet8_1xb64_fmnist-lowdata.py']
model = dict(
    distiller=dict(
        distill_losses=dict(
            loss_vrm=dict(prune='discrepancy', prune_ratio=0.1))))
