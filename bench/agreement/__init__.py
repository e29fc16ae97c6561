"""Edge-case suites for the model-vs-Envoy agreement benchmark (bench/bench_agreement.py)."""
