# fmnist-lowdata protocol: RRD alone (relkd_mm RRDLoss on the pooled
# features). Preset values: docs/tuning.md.
_base_ = ['../quickstart/rrd_wrn-16-2_resnet8_fmnist.py']
