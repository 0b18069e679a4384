"""Run directories: an exclusive lock, complete-file checks, and resuming a run.

`DirectoryLock` keeps two processes out of one run or tuning directory,
`check_keras_file` and `load_checkpoint` refuse a half-written checkpoint,
`resume_state` reads a run's saved state, `restore_random_state` puts
Python's `random` back where a checkpoint left it, and `environment` records
the software and the machine a run's numbers came from.
"""

import contextlib

import keras


class DirectoryInUseError(RuntimeError):
    """Another live process holds the lock of a run or project directory."""


class DirectoryLock:
    """An exclusive lock on a run (or tuning project) directory, held by one process.

    The lock is the file `<directory>/.lock`, holding the owner's pid. On
    POSIX it is locked with `fcntl.flock`, which the system releases when
    the process dies, so a lock left by a killed run is taken over; without
    `fcntl` the file is created with `O_CREAT | O_EXCL`, and one whose pid
    no longer runs is taken over. A second process asking for a held lock
    gets a `DirectoryInUseError` naming the directory and the holder's pid.

    Use it as a context manager, or `acquire()` / `release()`:

    ```python
    with DirectoryLock("runs/ntm_copy"):
        ...  # train, write checkpoints
    ```

    Args:
        directory: The directory to lock (created if missing).
        lock_file: Optional path of the lock file, for a directory that
            something else may delete while it is locked (Keras Tuner's
            `overwrite=True` deletes the project directory). Defaults to
            `<directory>/.lock`.
    """

    NAME = ".lock"

    def __init__(self, directory, lock_file=None):
        import os

        self.directory = directory
        self.path = lock_file or os.path.join(directory, self.NAME)
        self._fd = None

    def _holder(self):
        try:
            with open(self.path) as f:
                return int(f.read().strip() or 0) or None
        except (OSError, ValueError):
            return None

    def _refuse(self, pid):
        raise DirectoryInUseError(
            f"{self.directory} is in use by another process (pid {pid or 'unknown'}, "
            f"lock file {self.path}). Wait for it to finish or stop it; a lock left "
            f"by a process that no longer runs is taken over."
        )

    def acquire(self):
        """Take the lock, or raise `DirectoryInUseError`. Returns `self`."""
        import os

        os.makedirs(self.directory, exist_ok=True)
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        try:
            import fcntl
        except ImportError:  # Not POSIX.
            fcntl = None
        for _ in range(100):
            if fcntl is None:
                try:
                    fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o644)
                except FileExistsError:
                    pid = self._holder()
                    if pid is not None and _process_alive(pid):
                        self._refuse(pid)
                    with contextlib.suppress(FileNotFoundError):
                        os.remove(self.path)  # Stale: its process is gone.
                    continue
            else:
                fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o644)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    os.close(fd)
                    self._refuse(self._holder())
                # The file may have been removed by its previous holder's
                # release between our open and our lock: lock the file that
                # is at the path now.
                try:
                    same = os.path.samestat(os.fstat(fd), os.stat(self.path))
                except FileNotFoundError:
                    same = False
                if not same:
                    os.close(fd)
                    continue
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            os.fsync(fd)
            self._fd = fd
            return self
        raise DirectoryInUseError(f"Could not lock {self.directory} ({self.path}).")

    def release(self):
        """Give the lock up (removing the lock file)."""
        import os

        if self._fd is None:
            return
        with contextlib.suppress(FileNotFoundError):
            os.remove(self.path)
        os.close(self._fd)  # Closing releases the flock.
        self._fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc_info):
        self.release()


def _process_alive(pid):
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # Alive, another user's.
        return True
    except OSError:
        return False
    return True


def _python_random_state():
    import random

    version, internal, gauss_next = random.getstate()
    return [version, list(internal), gauss_next]


def restore_random_state(state):
    """Set Python's `random` to the state `RunCheckpoint` saved in `state`, if any.

    Returns whether a state was restored. `fit` itself may draw from
    `random` before its first epoch (the JAX trainer shuffles a batch to
    build the model), so a resumed `fit` takes `RestoreRandomState(state)`
    as a callback rather than calling this before `fit`.
    """
    import random

    saved = (state or {}).get("python_random_state")
    if saved is None:
        return False
    version, internal, gauss_next = saved
    random.setstate((version, tuple(internal), gauss_next))
    return True


class CorruptFileError(ValueError):
    """A checkpoint or state file that exists but cannot be read back whole."""


def check_keras_file(path):
    """Raise `CorruptFileError` unless `path` is a complete `.keras` archive.

    A `.keras` file is a zip archive; one cut short (a full disk, a copy
    interrupted) fails the zip's checks. Keras itself reports such a file as
    "File not found". Does not load the model.
    """
    import os
    import zipfile

    size = os.path.getsize(path)
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise CorruptFileError(
            f"{path} is corrupt: not a complete .keras (zip) archive ({size} bytes; "
            f"{error})."
        ) from None
    if bad is not None:
        raise CorruptFileError(f"{path} is corrupt: its member {bad!r} fails its checksum.")


def load_checkpoint(path, **kwargs):
    """`keras.models.load_model(path)`, with a `CorruptFileError` naming a corrupt file."""
    check_keras_file(path)
    return keras.models.load_model(path, **kwargs)


def resume_state(state_path):
    """The state written by `RunCheckpoint`, or `None` if there is none.

    Raises `CorruptFileError`, naming the file, if it is not the complete
    JSON object `RunCheckpoint` writes.
    """
    import json
    import os

    if not os.path.exists(state_path):
        return None
    with open(state_path) as f:
        text = f.read()
    try:
        state = json.loads(text)
    except json.JSONDecodeError as error:
        state = error
    if not isinstance(state, dict) or not isinstance(state.get("epoch"), int):
        raise CorruptFileError(
            f"{state_path} is corrupt: not the JSON object with an integer \"epoch\" "
            f"that RunCheckpoint writes ({len(text)} characters"
            + (f"; {state}" if isinstance(state, Exception) else "") + ")."
        )
    return state


#: The distribution whose version `environment` records for each Keras backend.
BACKEND_DISTRIBUTIONS = {"tensorflow": "tensorflow", "jax": "jaxlib", "torch": "torch",
                         "numpy": "numpy"}


def environment():
    """The software and the machine of this process, for a run's results file.

    A run's numbers depend on more than its arguments: a REINFORCE or
    curriculum run samples at every step, so a change in the float rounding
    of one kernel (another backend version, another CPU's instructions)
    sends the same command and seed down another path. Recording these lets
    a reader tell a run that cannot be repeated from a code change.

    Returns:
        A dict of strings (and `cpus`, an int): `python`, `keras_memory`,
        `keras`, `backend` (`keras.backend.backend()`), `backend_version`
        (the version of its distribution, `BACKEND_DISTRIBUTIONS`),
        `numpy`, `platform`, `cpu` (the processor's model name where the
        system tells it, else `platform.machine()`) and `cpus`.

    Example:

    >>> env = environment()
    >>> env["backend"] == keras.backend.backend()
    True
    """
    import importlib.metadata
    import os
    import platform

    import numpy as np

    import keras_memory

    backend = keras.backend.backend()
    try:
        backend_version = importlib.metadata.version(BACKEND_DISTRIBUTIONS[backend])
    except (KeyError, importlib.metadata.PackageNotFoundError):
        backend_version = None
    cpu = platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f
                        if line.startswith("model name")), cpu)
    except OSError:
        pass
    return {"python": platform.python_version(), "keras_memory": keras_memory.__version__,
            "keras": keras.__version__, "backend": backend, "backend_version": backend_version,
            "numpy": np.__version__, "platform": platform.platform(), "cpu": cpu,
            "cpus": os.cpu_count()}
