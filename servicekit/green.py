"""Green threads for the whole process; call ``patch()`` before anything opens a socket."""
import warnings


def patch() -> None:
    with warnings.catch_warnings():
        # eventlet announces its own deprecation on import; nothing to act on.
        warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
        import eventlet
    eventlet.monkey_patch()
