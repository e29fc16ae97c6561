"""The fuzzing engine: what runs a target under atheris and keeps its files.

* ``launch``: the command side of a run (child processes, staging, artifacts, live progress);
* ``runner``: the engine side, inside the child (hands one target to atheris/libFuzzer);
* ``corpus``: testcases on disk (text protos, raw files; content-addressed atomic writes);
* ``mutate``: the structure-aware protobuf mutator and crossover;
* ``progress``: libFuzzer's output -> numbers;
* ``importer``: Envoy's corpora -> ``corpora/<target>/envoy/``.

Nothing here knows a particular target: targets reach the engine through the registry
(``harness.targets``).
"""
