"""Arguments renamed after they were in use: the old name keeps working,
with a ``DeprecationWarning`` that names the new one, for one more release.

relkd_mm shows these warnings by default (see ``relkd_mm/__init__.py``):
the old names come from users' configs, and Python hides a
``DeprecationWarning`` unless the code that triggers it runs as
``__main__``.
"""
import warnings


def renamed_argument(owner, old, new, old_value, new_value):
    """The value of the argument ``new``, given under either name.

    Args:
        owner (str): The class that takes the argument, for the messages.
        old (str): The deprecated name.
        new (str): The current name.
        old_value: What was given as ``old``; None when it was not.
        new_value: What was given as ``new``; None when it was not.

    Returns:
        ``new_value``, or ``old_value`` (with the warning) when only the
        old name was given; None when neither was.
    """
    if old_value is None:
        return new_value
    if new_value is not None:
        raise ValueError(
            f'{owner}: got both `{old}` and `{new}`; `{old}` is the '
            f'deprecated name of `{new}`: keep `{new}` only.')
    warnings.warn(
        f'{owner}: `{old}` is deprecated (accepted for one more release): '
        f'rename it to `{new}` in the config.', DeprecationWarning)
    return old_value
