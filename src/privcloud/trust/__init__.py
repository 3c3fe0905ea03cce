"""Node admission: where attestation evidence, the transparency log and the client's policy
meet (docs/trust-model.md#node-admission). One place in the code decides which nodes may
receive a user's data."""
