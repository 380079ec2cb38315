"""Language model, prompts, grounding check and scoring: plain Python and torch, no Django."""
