# fmnist-lowdata protocol: VRM (relkd_mm VRMLoss on the logits of the real
# and virtual views). Preset values: docs/tuning.md.
_base_ = ['../quickstart/vrm_wrn-16-2_resnet8_fmnist.py']
