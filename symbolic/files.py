"""Writing files safely: one place for it, without SymPy or NumPy."""
from __future__ import annotations

import os
import stat
import tempfile


def replace_file(output, data: bytes) -> None:
    """Replace the file `output` (through a symbolic link, as `open` would)
    by `data`: written to a temporary file in the same folder, then moved
    over it with `os.replace`; on failure the temporary file is removed and
    the old file is left as it was."""
    target = os.path.realpath(output)
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        mode = 0o666 & ~mask
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(target), prefix=f".{os.path.basename(target)}.",
                               suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
