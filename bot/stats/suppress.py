"""Small counts are hidden, and so are the cells that would give them away.

Primary: every count from 1 to 4 is shown as "<5" (a zero is shown: it describes nobody).
Secondary: a hidden count must not be worked out by subtraction. In every line that adds up —
each column, and each row of a table whose rows add up to a total — a line with exactly one
hidden cell has its next smallest cell hidden too (the line's total last), and this is repeated
until no line has a single hidden cell.
"""

from __future__ import annotations

from collections.abc import Sequence

SMALL = 5
HIDDEN = "<5"

Grid = Sequence[Sequence[int]]
Where = tuple[int, int]


def small(value: int) -> bool:
    return 0 < value < SMALL


def hidden_cells(
    grid: Grid, *, rows_add: bool = False, total_row: bool = False, total_col: bool = False
) -> set[Where]:
    """Which cells (row, column) of a grid of counts are hidden.

    total_row / total_col: the last row / column holds the totals of the others (hidden last).
    rows_add: each row is a line too (its cells add up to its total, shown or known).
    """
    hidden = {(i, j) for i, row in enumerate(grid) for j, v in enumerate(row) if small(v)}
    height = len(grid)
    width = max((len(row) for row in grid), default=0)
    lines: list[tuple[list[Where], Where | None]] = []
    for j in range(width):
        cells = [(i, j) for i in range(height) if j < len(grid[i])]
        lines.append(_split(cells, height - 1 if total_row else None, axis=0))
    if rows_add or total_col:
        for i in range(height):
            cells = [(i, j) for j in range(len(grid[i]))]
            lines.append(_split(cells, len(grid[i]) - 1 if total_col else None, axis=1))
    changed = True
    while changed:
        changed = False
        for cells, total in lines:
            everything = cells + ([total] if total else [])
            if sum(c in hidden for c in everything) != 1:
                continue
            candidates = [c for c in cells if c not in hidden]
            if candidates:
                hidden.add(min(candidates, key=lambda c: (grid[c[0]][c[1]], c)))
            elif total is not None and total not in hidden:
                hidden.add(total)
            else:
                continue
            changed = True
    return hidden


def _split(cells: list[Where], total_at: int | None, axis: int) -> tuple[list[Where], Where | None]:
    """A line's cells and its total cell (the one at index total_at along the axis)."""
    if total_at is None:
        return cells, None
    total = next((c for c in cells if c[axis] == total_at), None)
    return [c for c in cells if c is not total], total
