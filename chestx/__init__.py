"""ChestX Review: shared configuration and the ``chestx`` command line.

The domain packages (``reasoner``, ``review_db``, ``training``) hold the logic; this package
holds only what is common to all of them (settings) and the thin CLI that drives them.
"""

__version__ = "0.1.0"
