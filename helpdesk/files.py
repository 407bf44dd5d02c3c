"""Files written inside a transaction that should not outlive a failed attempt.

A database rollback takes back the rows but not the files saved for them: an
attempt that fails (a concurrent first message, an error) would leave files no
row points to. Saves made with ``file_save`` inside ``files_removed_on_failure``
are deleted again when the block raises; the outermost block wraps the outermost
transaction, so leaving it without an error means the rows were committed.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.core.files.base import File
from django.db.models.fields.files import FieldFile

_saved: ContextVar[list[FieldFile] | None] = ContextVar("saved_files", default=None)


@contextmanager
def files_removed_on_failure() -> Iterator[None]:
    """Nested in another such block (inside its transaction), the files it kept are handed to the
    outer block when this one succeeds: the outer transaction can still roll their rows back."""
    outer = _saved.get()
    saved: list[FieldFile] = []
    token = _saved.set(saved)
    try:
        yield
    except BaseException:
        for field in saved:
            if field.name:  # always, once saved: FieldFile.save sets the name the storage chose
                field.storage.delete(field.name)
        raise
    finally:
        _saved.reset(token)
    if outer is not None:
        outer.extend(saved)


def file_save(field: FieldFile, name: str, content: File) -> None:
    """Write the file now (the row is saved by the caller); remembered for removal if the attempt fails."""
    field.save(name, content, save=False)
    saved = _saved.get()
    if saved is not None:
        saved.append(field)
