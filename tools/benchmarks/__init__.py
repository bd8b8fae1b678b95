"""The experiment drivers behind relkd_mm's tools, none of which a training
run needs (those stay in ``relkd_mm``):

* ``methods``: the table of methods every tool and test listing methods
  reads;
* ``quick_runs``: the quick start's and the accuracy benchmark's budget;
* ``protocol``: the fmnist-lowdata protocol (docs/results.md);
* ``report``: statistics and Markdown tables of the reports;
* ``profiling``: the cost benchmarks' timing and memory measurement.

The tools put the repository (or the installed package's ``.mim`` folder)
on ``sys.path`` and import ``relkd_mm`` before these: all but ``methods``
import the OpenMMLab stack, whose patches ``relkd_mm`` applies.
"""
