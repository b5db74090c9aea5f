"""One module per question the notebooks ask: the design study (02), the benchmark (03), other pipelines (04)."""
