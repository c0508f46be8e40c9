"""Which long-tail method works on a dataset: the benchmark."""
