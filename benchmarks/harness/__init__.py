"""What the benchmarks under ``benchmarks/`` share, one concept per module.

A benchmark script (``registry.py``, ``server.py``, ``serving.py``, ``monitoring.py``) is its
workload and its comparison; everything around that lives here:

- ``run``: one run of a benchmark: arguments (``--quick``, ``--no-write``, ``--keep``), the
  temporary folder, the result's common fields, publishing its section.
- ``provenance``: the machine, the versions, the git revision and the command a section names.
- ``report``: writing one section of ``docs/benchmarks.md`` and its raw JSON.
- ``references``: the reference tools' own venvs (MLflow, Evidently) under ``.bench/``.
- ``sides``: running a script inside such a venv, and being one (config in, one result line
  out).
- ``servers``: starting a server on a free loopback port and stopping its whole process group.
- ``procfs``, ``quiet``, ``memory``: CPU, idle and resident memory of process trees.
- ``wrk``: load runs with wrk and ``wrk_post.lua``.
- ``stats``: percentiles and timing summaries.
- ``registration``: the registration workload (packages, one registration) of both tools.
- ``kinds``: what ``server.py`` registers: a bare model file, a ``score.py`` folder, a
  packaged folder.
- ``clients``: N clients registering concurrently, timed.
- ``payments``: the payments pipeline the serving and monitoring benchmarks train and score.

The modules a reference tool's side imports (``log``, ``stats``, ``sides``, ``procfs``,
``memory``, ``registration``, ``kinds``, ``clients``) use the standard library only at
import time.
"""
