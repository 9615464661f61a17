"""The Kaiser Permanente / Cigna PPO network ruleset: identification, roster and KP1xx rules.

``config`` gives a typed view of the ruleset's ``[kp]`` section, ``roster`` reads the
``--members`` file, ``identify`` derives each claim's KP facts as one polars table, and
``rules`` holds the KP1xx checks and the ``kp`` annotator.
"""
