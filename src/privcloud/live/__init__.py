"""Live call translation: a private duplex session to one node and its streaming pipeline."""
