"""Drafts, generation jobs, training examples and model versions arrive with the generation issue."""
