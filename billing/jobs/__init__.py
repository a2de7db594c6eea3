"""Jobs: what one command does, start to end, inside the one transaction the CLI opens.

Each job takes a ``Session`` and plain arguments, calls the pure core and the store, and
returns a result record for the CLI to print. Input problems are raised together as
``ProblemsError`` before anything is written.
"""
