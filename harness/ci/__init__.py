"""The OSS-Fuzz / ClusterFuzzLite local simulation: build, check-build and run (see ci/README.md)."""
