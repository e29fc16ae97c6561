"""OSS-Fuzz / ClusterFuzzLite, simulated locally: build, check-build and run (ci/README.md)."""
