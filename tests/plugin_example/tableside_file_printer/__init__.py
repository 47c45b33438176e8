"""A minimal Tableside printer driver: appends each job's bytes to a file.

Useful as a template, and for kitchens that want tickets on a screen that tails the file.
"""

from pathlib import Path

from drivers.printer import Printer, PrinterError, PrinterOffline


class FilePrinter(Printer):
    def __init__(self, *, path: str, **options) -> None:
        super().__init__(**options)  # rejects options this driver does not know
        self.path = Path(path)

    def send(self, data: bytes) -> None:
        if not self.path.parent.is_dir():
            raise PrinterOffline(f"folder {self.path.parent} does not exist: is the share mounted?")
        try:
            with self.path.open("ab") as out:
                out.write(data)
        except OSError as exc:
            raise PrinterError(f"cannot write {self.path}: {exc.strerror}") from None

    def describe(self) -> str:
        return f"file {self.path}"
