"""A whole private cloud on loopback, for development, demos and tests (above the services).

* :mod:`.cloud` — :class:`~privcloud.localcloud.cloud.LocalCloud`: relay, gateway, nodes,
  issuer, log and witness in one event loop, and what a development client needs to trust them.
* :mod:`.cloudconfig` — its configuration file, ``privcloud.toml``.
* :mod:`.transparency` — one log and one witness that cosigns it.
"""
