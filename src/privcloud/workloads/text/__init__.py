"""The text toolkit of the workloads: small, pure, linear-time pieces that every feature shares.

* :mod:`~privcloud.workloads.text.sentences`: the one sentence splitter, with offsets.
* :mod:`~privcloud.workloads.text.numbers`: the one number-word lexicon and a table-driven
  grammar of spoken numbers, both ways (words to value, value to words).
* :mod:`~privcloud.workloads.text.datewords`: month and weekday names.
* :mod:`~privcloud.workloads.text.negation`: whether a clause is negated, how a reply answers.
* :mod:`~privcloud.workloads.text.stemming`: a light suffix stripper for word overlap.

Nothing here does I/O or imports a feature module: the features (the hallucination guard,
``extract``, ``translate``, the date grammar) import this package, never the other way round.
"""
