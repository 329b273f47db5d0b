"""The base class of errors caused by the user's input, reported by the CLI without a trace."""


class UserError(Exception):
    """Bad input: the message names the problem and the fix."""
