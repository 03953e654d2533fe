"""Reports assembled from evaluation and audit results (self-contained HTML)."""
