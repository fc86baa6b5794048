"""data() for item models whose cells come from files read back: no exception ever leaves it.

Qt calls data() from C++ (painting, sorting, tooltips); a Python exception escaping there can take
the window down, and these models show rows read from the run store and the digits folder, which
anyone can change. A model mixes GuardedData in before its Qt base and writes `cell(index, role)`;
an index outside the rows, or a cell that raises, reads as empty. The first fault of each model
is written to stderr, so a bug does not hide behind empty cells.
"""

from __future__ import annotations

import sys
import traceback

from PySide6.QtCore import QModelIndex, Qt


class GuardedData:
    _fault_reported = False

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < self.rowCount():
            return None
        try:
            return self.cell(index, role)
        except Exception:  # noqa: BLE001 - one cell that cannot be shown stays empty; the window stays up
            if not self._fault_reported:
                self._fault_reported = True
                print(f"mnistconv: a cell of {type(self).__name__} could not be shown; it is left empty:\n"
                      f"{traceback.format_exc()}", file=sys.stderr)
            return None

    def cell(self, index: QModelIndex, role: int):
        """The value of one cell (index valid and within the rows) for `role`, or None."""
        raise NotImplementedError
