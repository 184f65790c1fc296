"""How each rule kind runs: one query builder per kind, registered in ``BUILDERS``."""
