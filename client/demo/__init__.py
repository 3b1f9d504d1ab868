"""``lineage demo``: a small real scikit-learn training pipeline recorded through the SDK."""
