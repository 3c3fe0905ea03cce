"""Node admission: where attestation evidence, the transparency log and the client's policy
meet (DESIGN.md §3). One place in the code decides which nodes may receive a user's data."""
