"""Byte-level codecs: QUIC variable-length integers, Binary HTTP (RFC 9292), the workload
message framing. Pure functions over bytes; no crypto, no IO."""
